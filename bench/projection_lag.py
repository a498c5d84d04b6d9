"""Projection lag under load: the projection workers run beside the REST servers, and a sampler
reads every projection's lag (the ``projection_lag_seconds`` gauge's measure) while a route runs.

- ``workers_running(partitions)``: one Celery worker per projection partition, each consuming its
  partition's queue (``projections.<n>``) with one process, as the deployment runs them
  (README, "Projection workers"), plus the default queue on the first; stopped with their groups.
- ``sampling()``: a thread polls ``casinoclub.projections.projection_lag_seconds`` for every
  projection every ``INTERVAL_SECONDS``; a sample is the worst projection's lag (the age of its
  oldest unapplied event, or when caught up how late its newest event was applied). After the
  load stops it waits until every projection has caught up and reports how long that took.
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.harness import PROJECT_DIR, log, process_group_stop

INTERVAL_SECONDS = 0.25
CATCH_UP_TIMEOUT_SECONDS = 120


def worker_command(partition: int) -> list[str]:
    queues = f"projections.{partition}" + (",celery" if partition == 0 else "")
    return [
        sys.executable, "-m", "celery", "-A", "casinoclub", "worker", "--pool", "solo",
        "--loglevel", "WARNING", "-Q", queues, "-n", f"projections{partition}@%h",
    ]  # fmt: skip


@contextlib.contextmanager
def workers_running(partitions: int, work_dir: Path) -> Iterator[None]:
    import os

    processes = []
    try:
        for partition in range(partitions):
            log_path = work_dir / f"projections-{partition}.log"
            with log_path.open("ab") as log_file:
                processes.append(
                    subprocess.Popen(
                        worker_command(partition),
                        cwd=PROJECT_DIR,
                        env=os.environ.copy(),
                        stdout=log_file,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        log(f"projection workers: {partitions} started (one per partition)")
        yield
    finally:
        for process in processes:
            process_group_stop(process, grace=10)
        if processes:
            log("projection workers: stopped")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class LagSampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="projection-lag", daemon=True)
        self.stopping = threading.Event()
        self.samples: list[float] = []
        self.worst: dict[str, float] = {}
        self.error: str | None = None

    def measure(self) -> dict[str, float]:
        from casinoclub.projections import projection_lag_seconds, projections_all

        return {p.name: projection_lag_seconds(p.name) for p in projections_all()}

    def run(self) -> None:
        from django.db import connection

        try:
            while not self.stopping.is_set():
                lags = self.measure()
                self.samples.append(max(lags.values(), default=0.0))
                for name, lag in lags.items():
                    self.worst[name] = max(self.worst.get(name, 0.0), lag)
                self.stopping.wait(INTERVAL_SECONDS)
        except Exception as error:  # the figure says so; the load run goes on
            self.error = repr(error)
        finally:
            connection.close()

    def caught_up_after(self) -> float | None:
        """Seconds until no projection has an unapplied event (None: not within the timeout)."""
        from django.db import connection

        started = time.monotonic()
        try:
            while time.monotonic() - started < CATCH_UP_TIMEOUT_SECONDS:
                if self._pending() == 0:
                    return round(time.monotonic() - started, 2)
                time.sleep(INTERVAL_SECONDS)
            return None
        finally:
            connection.close()

    def _pending(self) -> int:
        from django.db import connection

        from casinoclub.models import ProjectionCursor
        from casinoclub.projections import partitions_count, projections_all

        pending = 0
        count = partitions_count()
        with connection.cursor() as cursor:
            for projection in projections_all():
                for partition in range(count):
                    row = ProjectionCursor.objects.filter(
                        name=projection.name, partition=partition
                    ).values_list("last_transaction_id", "last_event_id").first() or (0, 0)
                    cursor.execute(
                        "SELECT count(*) FROM casinoclub_domainevent"
                        " WHERE (transaction_id, id) > (%s, %s) AND type = ANY(%s)"
                        " AND (%s = 1 OR mod(user_id, %s) = %s)",
                        [row[0], row[1], sorted(projection.event_types), count, count, partition],
                    )
                    pending += cursor.fetchone()[0]
        return pending

    def figures(self, caught_up_s: float | None) -> dict[str, Any]:
        samples = self.samples or [0.0]
        return {
            "samples": len(self.samples),
            "p50_s": round(_percentile(samples, 0.50), 3),
            "p99_s": round(_percentile(samples, 0.99), 3),
            "max_s": round(max(samples), 3),
            "mean_s": round(statistics.fmean(samples), 3),
            "worst_by_projection_s": {name: round(lag, 3) for name, lag in self.worst.items()},
            "caught_up_after_load_s": caught_up_s,
            "error": self.error,
        }


@contextlib.contextmanager
def sampling() -> Iterator[dict[str, Any]]:
    """Sample the lag for the block; the yielded dict is filled with the figures at its end."""
    result: dict[str, Any] = {}
    sampler = LagSampler()
    sampler.start()
    try:
        yield result
    finally:
        sampler.stopping.set()
        sampler.join(10)
        result.update(sampler.figures(sampler.caught_up_after()))
