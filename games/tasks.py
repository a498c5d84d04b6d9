from celery import shared_task

from games import services


@shared_task(acks_late=True)
def crash_round_settle_task(round_id: int) -> bool:
    """Settle a crash round at its auto cash-out or bust time. Safe to run twice."""
    return services.crash_round_settle(round_id)


@shared_task
def crash_rounds_settle_due_task() -> int:
    """Beat: settle open crash rounds whose task was lost (every 10 s)."""
    return services.crash_rounds_settle_due()
