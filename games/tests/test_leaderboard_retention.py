"""Beat purge of old daily leaderboard rows, run eagerly; weekly and all-time rows stay."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from games.models import LeaderboardEntry, LeaderboardPeriod
from games.tasks import leaderboard_daily_purge_task


@pytest.mark.django_db
def test_daily_rows_older_than_the_retention_are_purged(settings):
    settings.LEADERBOARD_DAILY_RETENTION_DAYS = 35
    user = UserFactory()
    today = timezone.localdate()
    rows = {
        "old_daily": (LeaderboardPeriod.DAILY, today - timedelta(days=36)),
        "kept_daily": (LeaderboardPeriod.DAILY, today - timedelta(days=35)),
        "today": (LeaderboardPeriod.DAILY, today),
        "old_weekly": (LeaderboardPeriod.WEEKLY, today - timedelta(days=400)),
        "all_time": (LeaderboardPeriod.ALL_TIME, today - timedelta(days=400)),
    }
    ids = {
        name: LeaderboardEntry.objects.create(
            period=period, period_start=start, user=user, net_win=1
        ).pk
        for name, (period, start) in rows.items()
    }

    deleted = leaderboard_daily_purge_task.delay().get()

    assert deleted == 1
    assert set(LeaderboardEntry.objects.values_list("pk", flat=True)) == {
        ids["kept_daily"],
        ids["today"],
        ids["old_weekly"],
        ids["all_time"],
    }
