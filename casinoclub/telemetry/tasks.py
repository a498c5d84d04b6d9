from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import services


@shared_task
def telemetry_events_store_task(
    *, user_id: int, events: list[services.StoredTelemetryEvent]
) -> int:
    """Store one accepted batch (queued by ``POST /api/telemetry/events``)."""
    return services.telemetry_events_store(user_id=user_id, events=events)


@shared_task
def telemetry_events_purge_task() -> int:
    """Delete telemetry past ``TELEMETRY_RETENTION_DAYS`` (beat: hourly)."""
    retention = timedelta(days=settings.TELEMETRY_RETENTION_DAYS)
    return services.telemetry_events_purge(older_than=timezone.now() - retention)
