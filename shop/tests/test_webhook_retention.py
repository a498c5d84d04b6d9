"""Beat purge of stored webhook events past WEBHOOK_EVENT_RETENTION_DAYS, run eagerly."""

from datetime import timedelta

import pytest
from django.utils import timezone

from shop.models import WebhookEvent
from shop.tasks import webhook_events_purge_task


def event(name: str, days_ago: float) -> WebhookEvent:
    return WebhookEvent.objects.create(
        event_id=name,
        nonce=f"nonce-{name}",
        event_type="charge.succeeded",
        payload={},
        received_at=timezone.now() - timedelta(days=days_ago),
    )


@pytest.mark.django_db
def test_webhook_events_older_than_the_retention_are_purged(settings):
    settings.WEBHOOK_EVENT_RETENTION_DAYS = 90
    event("old", 90.01)
    event("recent", 89.99)

    deleted = webhook_events_purge_task.delay().get()

    assert deleted == 1
    assert list(WebhookEvent.objects.values_list("event_id", flat=True)) == ["recent"]
