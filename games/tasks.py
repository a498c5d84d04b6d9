from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from games import services


@shared_task(acks_late=True)
def crash_round_settle_task(round_id: int) -> bool:
    """Settle a crash round at its auto cash-out or bust time. Safe to run twice."""
    return services.crash_round_settle(round_id)


@shared_task
def crash_rounds_settle_due_task() -> int:
    """Beat: settle open crash rounds whose task was lost (every 10 s)."""
    return services.crash_rounds_settle_due()


@shared_task
def leaderboard_daily_purge_task() -> int:
    """Beat (daily): delete daily leaderboard rows older than LEADERBOARD_DAILY_RETENTION_DAYS."""
    today = timezone.localdate()
    return services.leaderboard_daily_purge(
        before=today - timedelta(days=settings.LEADERBOARD_DAILY_RETENTION_DAYS)
    )
