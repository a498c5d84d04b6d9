from datetime import timedelta

import factory
from django.utils import timezone

from events.models import Event, Mission


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    title = factory.Sequence(lambda n: f"Event {n}")
    description = "Play and win."
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    requirement_type = "plays"
    target = 3
    reward_gold = 500
    reward_xp = 30


class MissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mission

    code = factory.Sequence(lambda n: f"mission-{n}")
    title = factory.Sequence(lambda n: f"Mission {n}")
    period = "daily"
    requirement_type = "plays"
    target = 3
    reward_gold = 250
    reward_xp = 40
