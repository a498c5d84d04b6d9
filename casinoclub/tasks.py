from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .idempotency import idempotency_records_purge


@shared_task
def idempotency_records_purge_task() -> int:
    """Delete stored idempotent responses past their retention (beat: hourly)."""
    retention = timedelta(hours=settings.IDEMPOTENCY_RETENTION_HOURS)
    return idempotency_records_purge(older_than=timezone.now() - retention)
