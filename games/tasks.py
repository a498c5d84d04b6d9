from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from games import services


@shared_task
def leaderboard_daily_purge_task() -> int:
    """Beat (daily): delete daily leaderboard rows older than LEADERBOARD_DAILY_RETENTION_DAYS."""
    today = timezone.localdate()
    return services.leaderboard_daily_purge(
        before=today - timedelta(days=settings.LEADERBOARD_DAILY_RETENTION_DAYS)
    )
