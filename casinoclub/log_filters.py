"""Logging filters wired into ``settings.LOGGING``.

Routine scheduled work is DEBUG: Celery beat logs every dispatch ("Scheduler: Sending due task")
and the worker every receipt and success of a task at INFO, which for the projection backstop
every few seconds and the other scheduled jobs buries everything else (the start-up banner
included). ``RoutineTaskFilter`` re-labels those three messages as DEBUG for the tasks in
``CELERY_BEAT_SCHEDULE`` and lets them through only when their logger is enabled for DEBUG.
Failures, retries and every other task keep their level (docs/decisions/0170).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache

# The loggers and messages Celery uses for a dispatch, a receipt and a success.
BEAT_DISPATCH_PREFIX = "Scheduler: Sending due task"
BEAT_LOGGER = "celery.beat"
WORKER_RECEIVED_LOGGER = "celery.worker.strategy"
WORKER_SUCCEEDED_LOGGER = "celery.app.trace"


@cache
def routine_task_names() -> frozenset[str]:
    """The task names beat sends on a schedule."""
    from django.conf import settings

    schedule = getattr(settings, "CELERY_BEAT_SCHEDULE", {})
    return frozenset(entry["task"] for entry in schedule.values())


def _task_name(record: logging.LogRecord) -> str | None:
    """The task a dispatch, receipt or success record is about; None for any other record."""
    message = str(record.msg)
    if record.name == BEAT_LOGGER:
        is_dispatch = message.startswith(BEAT_DISPATCH_PREFIX)
        if is_dispatch and isinstance(record.args, tuple) and len(record.args) > 1:
            return str(record.args[1])  # (entry name, task name)
        return None
    is_receipt = record.name == WORKER_RECEIVED_LOGGER and "received" in message
    is_success = record.name == WORKER_SUCCEEDED_LOGGER and "succeeded" in message
    if (is_receipt or is_success) and isinstance(record.args, Mapping):
        name = record.args.get("name")  # the task's context dict
        return str(name) if name is not None else None
    return None


class RoutineTaskFilter(logging.Filter):
    """Re-label routine scheduled dispatches as DEBUG; drop them unless DEBUG is enabled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        name = _task_name(record)
        if name is None or name not in routine_task_names():
            return True
        record.levelno = logging.DEBUG
        record.levelname = logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
