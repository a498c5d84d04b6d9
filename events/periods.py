"""Mission periods: calendar days and Monday-based weeks in the configured time zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from .models import MissionPeriod


def period_start(period: str, day: date) -> date:
    """The first local day of the ``period`` containing ``day``."""
    if period == MissionPeriod.WEEKLY:
        return day - timedelta(days=day.weekday())
    return day


def period_next_start(period: str, start: date) -> date:
    return start + timedelta(days=7 if period == MissionPeriod.WEEKLY else 1)


def period_ends_at(period: str, start: date) -> datetime:
    """The instant the period starting on ``start`` ends: local midnight of the next period."""
    return timezone.make_aware(datetime.combine(period_next_start(period, start), time.min))


def current_period_starts(day: date) -> dict[str, date]:
    """Each period's current start for the local ``day``."""
    return {period: period_start(period, day) for period in MissionPeriod.values}
