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


@shared_task
def projections_run_task(partition: int | None = None) -> int:
    """Apply the projections of one partition (all when None, until caught up).

    Sent after a money commit for the player's partition (at most one waiting per partition:
    ``eventlog.projections_kick``); beat runs it for every partition every few seconds as the
    backstop when a send was lost (broker down, worker killed).
    """
    from .eventlog import projections_kick_clear
    from .projections import projection_lags_record, projections_run

    if partition is not None:  # before reading: a commit from now on asks for a new run
        projections_kick_clear(partition)
        return projections_run([partition], until_caught_up=False)
    try:
        return projections_run()
    finally:  # the beat backstop: measure the lag once per run
        projection_lags_record()


@shared_task
def announcements_push_started_task() -> int:
    """Push the announcements that have started to the players online (beat: every 30 s)."""
    from .operations import announcements_push_started

    return announcements_push_started()
