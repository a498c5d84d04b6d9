"""Mission periods close on schedule: unclaimed rows expire, players are told, old rows pruned."""

from datetime import date, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.tests.factories import UserFactory
from events import services
from events.models import MissionProgress
from events.tasks import mission_periods_close_task
from events.tests.factories import MissionFactory
from events.tests.helpers import progress_messages

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_default_missions")]

WEDNESDAY = date(2026, 3, 4)


def row(user, mission, start, progress=1, claimed=False):
    at = timezone.now()
    return MissionProgress.objects.create(
        user=user,
        mission=mission,
        period_start=start,
        progress=progress,
        progress_version=progress,
        completed_at=at if claimed else None,
        claimed_at=at if claimed else None,
        created_at=at,
        updated_at=at,
    )


def test_closing_a_day_expires_unclaimed_rows_and_tells_each_player_once():
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    daily = MissionFactory(target=3)
    weekly = MissionFactory(period="weekly", target=3)
    yesterday = WEDNESDAY - timedelta(days=1)
    open_row = row(alice, daily, yesterday, progress=2)
    claimed_row = row(alice, MissionFactory(target=1), yesterday, progress=1, claimed=True)
    bobs_row = row(bob, daily, yesterday - timedelta(days=1))
    today_row = row(carol, daily, WEDNESDAY)
    this_week = row(carol, weekly, date(2026, 3, 2))

    result = services.mission_periods_close(today=WEDNESDAY)
    again = services.mission_periods_close(today=WEDNESDAY)

    assert result == services.PeriodsClosed(closed_rows=3, notified_players=2, pruned_rows=0)
    assert again == services.PeriodsClosed(closed_rows=0, notified_players=0, pruned_rows=0)
    closed = set(
        MissionProgress.objects.filter(closed_at__isnull=False).values_list("pk", flat=True)
    )
    assert closed == {open_row.pk, claimed_row.pk, bobs_row.pk}
    [message] = progress_messages(alice)
    assert message["kind"] == "reset"
    assert [(i["id"], i["progress"], i["claimed"], i["expired"]) for i in message["items"]] == [
        (daily.pk, 2, False, True),
        (claimed_row.mission_id, 1, True, False),
    ]
    assert [m["kind"] for m in progress_messages(bob)] == ["reset"]
    assert progress_messages(carol) == []
    assert {today_row.pk, this_week.pk}.isdisjoint(closed)


def test_monday_closes_last_weeks_weekly_rows():
    player = UserFactory()
    weekly = MissionFactory(period="weekly", target=5)
    last_week = row(player, weekly, date(2026, 3, 2), progress=4)

    tuesday = services.mission_periods_close(today=date(2026, 3, 3))
    monday = services.mission_periods_close(today=date(2026, 3, 9))

    assert tuesday.closed_rows == 0
    assert monday.closed_rows == 1
    last_week.refresh_from_db()
    assert last_week.closed_at is not None


def test_closed_rows_past_the_retention_are_pruned():
    player = UserFactory()
    daily = MissionFactory()
    old = row(player, daily, WEDNESDAY - timedelta(days=57))
    kept = row(player, daily, WEDNESDAY - timedelta(days=56))

    result = services.mission_periods_close(today=WEDNESDAY, retention_days=56)

    assert result.pruned_rows == 1
    assert list(MissionProgress.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not MissionProgress.objects.filter(pk=old.pk).exists()


def test_the_beat_task_closes_the_periods_of_now():
    player = UserFactory()
    stale = row(player, MissionFactory(), timezone.localdate() - timedelta(days=1))

    result = mission_periods_close_task.delay().get()

    assert result == {"closed_rows": 1, "notified_players": 1, "pruned_rows": 0}
    stale.refresh_from_db()
    assert stale.closed_at is not None


def test_beat_runs_the_close_task_on_the_hour():
    entry = settings.CELERY_BEAT_SCHEDULE["close-mission-periods"]

    assert entry["task"] == "events.tasks.mission_periods_close_task"
    assert entry["schedule"].minute == {0}
    assert entry["schedule"].hour == set(range(24))
    assert settings.CELERY_TIMEZONE == settings.TIME_ZONE
