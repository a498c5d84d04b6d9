from celery import shared_task

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
