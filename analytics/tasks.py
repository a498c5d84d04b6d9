from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from analytics.services.activity import activity_purge
from analytics.services.rollups import analytics_rollup_day, analytics_rollup_recent


@shared_task
def analytics_rollup_task(day: str | None = None) -> list[str]:
    """Roll up one day (ISO date) or, from beat, today so far and the last few days."""
    if day is not None:
        analytics_rollup_day(date.fromisoformat(day))
        return [day]
    return [rolled.isoformat() for rolled in analytics_rollup_recent()]


@shared_task
def activity_purge_task() -> int:
    """Delete player activity older than ``ANALYTICS_ACTIVITY_RETENTION_DAYS``."""
    keep = timedelta(days=settings.ANALYTICS_ACTIVITY_RETENTION_DAYS)
    return activity_purge(before=timezone.localdate() - keep)
