from celery import shared_task

from shop import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def purchases_settle_pending_task() -> dict[str, int]:
    """Beat: settle pending purchases with the gateway, expire stale ones. Safe to run twice."""
    return services.purchases_settle_pending()
