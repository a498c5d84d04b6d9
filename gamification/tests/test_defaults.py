"""The data migration's default streak table and achievement catalog."""

import importlib

import pytest
from django.apps import apps

from gamification.achievements import EVALUATORS
from gamification.models import Achievement, StreakReward

seed_migration = importlib.import_module(
    "gamification.migrations.0002_default_streak_rewards_and_achievements"
)


@pytest.mark.django_db
def test_defaults_are_seeded_once_and_single_event_achievements_pay_no_gold():
    StreakReward.objects.all().delete()
    Achievement.objects.all().delete()

    seed_migration.seed(apps, None)
    seed_migration.seed(apps, None)  # idempotent

    assert list(StreakReward.objects.values_list("day", "gold")) == [
        (1, 100),
        (2, 150),
        (3, 200),
        (4, 250),
        (5, 300),
        (6, 400),
        (7, 500),
    ]
    assert Achievement.objects.count() == 10
    assert set(Achievement.objects.values_list("metric", flat=True)) == set(EVALUATORS)
    single_event = Achievement.objects.filter(
        code__in=["first_round", "multiplier_10x", "first_purchase"]
    )
    assert list(single_event.values_list("reward_gold", flat=True)) == [0, 0, 0]
