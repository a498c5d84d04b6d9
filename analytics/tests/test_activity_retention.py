"""Beat purge of old player activity rows, run eagerly; the day's rollups stay."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from analytics.models import DailyActivity, PlayerActivity
from analytics.services.rollups import analytics_rollup_day
from analytics.tasks import activity_purge_task


@pytest.mark.django_db
def test_activity_older_than_the_retention_is_purged_and_its_rollup_stays(settings):
    # given activity on the last kept day, the day before it, today, and a rollup of the old day
    settings.ANALYTICS_ACTIVITY_RETENTION_DAYS = 100
    player = UserFactory()
    today = timezone.localdate()
    days = {
        "purged": today - timedelta(days=101),
        "kept": today - timedelta(days=100),
        "today": today,
    }
    ids = {
        name: PlayerActivity.objects.create(user=player, day=day).pk for name, day in days.items()
    }
    analytics_rollup_day(days["purged"])

    # when beat's purge runs
    deleted = activity_purge_task.delay().get()

    # then only the rows of days before the retention went; the old day's rollups are still there
    assert deleted == 1
    assert set(PlayerActivity.objects.values_list("pk", flat=True)) == {ids["kept"], ids["today"]}
    assert DailyActivity.objects.get(day=days["purged"]).dau == 1
