from datetime import timedelta

import factory
from django.utils import timezone

from gamification.models import Achievement, Season, Tier


class AchievementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Achievement
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"achievement_{n:03d}")
    name = factory.Sequence(lambda n: f"Achievement {n}")
    metric = "games_played"
    threshold = 1
    reward_gold = 0
    reward_xp = 0


class SeasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Season

    code = factory.Sequence(lambda n: f"s{n}")
    name = factory.Sequence(lambda n: f"Season {n}")
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier

    season = factory.SubFactory(SeasonFactory)
    number = factory.Sequence(lambda n: n + 1)
    xp_required = 0
    free_reward_gold = 100
    premium_reward_gold = 300
