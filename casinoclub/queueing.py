"""Sending Celery tasks after commit without letting an unreachable broker fail the request.

The change that wants a task has already committed when the task is sent, so a broker error must
not become the caller's error (a 500 for a spin that happened). ``task_enqueue_after_commit`` logs
the failure and counts it in ``task_enqueue_failures_total``; every task sent this way is either
re-derived by a beat sweeper from PostgreSQL or
best-effort by design (telemetry batches, a staff import the admin page can confirm again), see
docs/decisions/0081-task-enqueue-without-redis.md.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable
from prometheus_client import Counter

logger = logging.getLogger(__name__)

task_enqueue_failures_total = Counter(
    "task_enqueue_failures_total",
    "Celery tasks that could not be sent to the broker after their transaction committed.",
    ["task"],
)


def task_enqueue(task: Task, *args: Any, countdown: float | None = None, **kwargs: Any) -> bool:
    """Send ``task`` now; on a broker failure log, count and return False. Never raises for it."""
    options: dict[str, Any] = {} if countdown is None else {"countdown": countdown}
    try:
        task.apply_async(args, kwargs, **options)
    except BrokerUnavailable as error:
        task_enqueue_failures_total.labels(task=task.name).inc()
        logger.warning("could not enqueue %s: %r", task.name, error)
        return False
    return True


def task_enqueue_after_commit(
    task: Task, *args: Any, countdown: float | None = None, **kwargs: Any
) -> None:
    """``task_enqueue`` once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: task_enqueue(task, *args, countdown=countdown, **kwargs))
