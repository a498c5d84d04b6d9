from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from shop import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def purchases_settle_pending_task() -> dict[str, int]:
    """Beat: settle pending purchases with the gateway, expire stale ones. Safe to run twice."""
    return services.purchases_settle_pending()


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=8,
)
def purchase_provider_refund_task(purchase_id: int) -> str:
    """Ask the payment provider to refund a reversed purchase (idempotent per receipt)."""
    return services.purchase_provider_refund(purchase_id)


@shared_task
def webhook_events_purge_task() -> int:
    """Beat (daily): delete webhook events past WEBHOOK_EVENT_RETENTION_DAYS."""
    retention = timedelta(days=settings.WEBHOOK_EVENT_RETENTION_DAYS)
    return services.webhook_events_purge(older_than=timezone.now() - retention)
