"""The event_progress projection is set-based: a batch costs the same statements however many
events it holds, and each event counts in the period of its own time."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from casinoclub import domain_events
from casinoclub.projections import events_of_types
from casinoclub.realtime.services import (
    realtime_progress_coalescing_start,
    realtime_progress_coalescing_stop,
)
from casinoclub.tests.projection_helpers import caught_up
from events.models import EventParticipation, MissionProgress
from events.projections import event_progress_apply
from events.tests.factories import EventFactory, MissionFactory
from games.tests.factories import funded_player

pytestmark = pytest.mark.django_db


def _rounds(user: User, count: int) -> None:
    with transaction.atomic():
        for index in range(count):
            domain_events.domain_event_record(
                domain_events.RoundSettled(
                    user_id=user.pk,
                    round_id=index + 1,
                    game="slot",
                    bet=10,
                    payout=20,
                    multiplier_x100=200,
                )
            )


def _statements_of_batch(users: list[User]) -> int:
    ids = {user.pk for user in users}
    events = [e for e in events_of_types(frozenset({"round_settled"})) if e.user_id in ids]
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        coalescer = realtime_progress_coalescing_start()  # as the runner's batch does
        try:
            event_progress_apply(events)
            coalescer.flush()
        finally:
            realtime_progress_coalescing_stop()
    return len(queries)


def test_a_batch_of_ten_rounds_each_costs_the_statements_of_one_round_each(no_default_missions):
    # given two missions, an event every player joined, three players with one logged round
    # each and three with ten each
    MissionFactory(code="plays", requirement_type="plays", target=100)
    MissionFactory(code="wins", requirement_type="wins", target=100, period="weekly")
    event = EventFactory(requirement_type="gold_spent", target=1000)
    small = [funded_player(0) for _ in range(3)]
    large = [funded_player(0) for _ in range(3)]
    for user in small + large:
        EventParticipation.objects.create(user=user, event=event, joined_at=event.starts_at)
    for user in small:
        _rounds(user, 1)
    for user in large:
        _rounds(user, 10)

    # when each group's rounds are applied as one batch
    one_each = _statements_of_batch(small)
    ten_each = _statements_of_batch(large)

    # then the batch of 30 rounds ran exactly the statements of the batch of 3
    assert ten_each == one_each
    rows = MissionProgress.objects.filter(user__in=large).order_by("user_id", "mission__code")
    assert [(row.mission.code, row.progress, row.progress_version) for row in rows] == [
        ("plays", 10, 10),
        ("wins", 10, 10),
    ] * 3
    assert [EventParticipation.objects.get(user=user, event=event).progress for user in large] == [
        100
    ] * 3


def test_rounds_of_two_days_applied_in_one_batch_count_in_their_own_days(
    no_default_missions, settings
):
    # given a daily mission and rounds logged late one evening and early the next morning
    settings.TIME_ZONE = "Asia/Seoul"
    seoul = ZoneInfo("Asia/Seoul")
    mission = MissionFactory(code="daily", requirement_type="plays", target=5)
    player = funded_player(0)
    with time_machine.travel(datetime(2025, 3, 3, 23, 50, tzinfo=seoul), tick=False):
        _rounds(player, 2)
    with time_machine.travel(datetime(2025, 3, 4, 0, 10, tzinfo=seoul), tick=False):
        _rounds(player, 3)

    # when the projection applies all five in one batch, later
    with time_machine.travel(datetime(2025, 3, 4, 9, 0, tzinfo=seoul), tick=False):
        caught_up()

    # then each day's row holds that day's rounds
    rows = MissionProgress.objects.filter(user=player, mission=mission).order_by("period_start")
    assert [(row.period_start.isoformat(), row.progress) for row in rows] == [
        ("2025-03-03", 2),
        ("2025-03-04", 3),
    ]
