from __future__ import annotations

from datetime import date

from celery import shared_task

from analytics.services.rollups import analytics_rollup_day, analytics_rollup_recent


@shared_task
def analytics_rollup_task(day: str | None = None) -> list[str]:
    """Roll up one day (ISO date) or, from beat, today so far and the last few days."""
    if day is not None:
        analytics_rollup_day(date.fromisoformat(day))
        return [day]
    return [rolled.isoformat() for rolled in analytics_rollup_recent()]
