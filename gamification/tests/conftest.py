"""Progression fixtures: a known reward table and catalog, whatever the data migration seeded."""

import pytest

from gamification.models import Achievement, StreakReward


@pytest.fixture
def streak_rewards(db):
    """Day 1: 100, 2: 150, 3: 200 (cap)."""
    StreakReward.objects.all().delete()
    StreakReward.objects.bulk_create(
        [
            StreakReward(day=1, gold=100),
            StreakReward(day=2, gold=150),
            StreakReward(day=3, gold=200),
        ]
    )


@pytest.fixture
def no_achievements(db):
    """An empty catalog: tests add exactly the achievements they are about."""
    Achievement.objects.all().delete()
