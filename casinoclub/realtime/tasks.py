from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import services
from .messages import StoredMessageType


@shared_task
def realtime_messages_prune_task() -> int:
    """Delete stored socket messages past the retention period (beat: hourly)."""
    retention = timedelta(days=settings.REALTIME_RETENTION_DAYS)
    return services.realtime_messages_prune(older_than=timezone.now() - retention)


@shared_task
def realtime_notify_task(
    user_id: int, message_type: StoredMessageType, data: dict[str, Any]
) -> int:
    """Publish one socket message from a worker (its own transaction). Returns the seq."""
    return services.realtime_notify(user_id, message_type, data)
