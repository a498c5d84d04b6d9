"""Run the shared crash round: betting window → running → bust → next (docs/decisions/0247).

    manage.py run_crash_loop [--once] [--heartbeat PATH]

One loop leads at a time: it holds a PostgreSQL session advisory lock on a connection of its own.
A second instance is a standby: it polls the lock every CRASH_STANDBY_POLL_SECONDS and leads as
soon as it gets it, which happens when the leader's connection ends (its process died). A new
leader first voids a round it finds still betting (stakes returned), then goes on: a running
round busts at its committed time. SIGTERM/SIGINT stop it between steps.
"""

from __future__ import annotations

import logging
import signal
import time
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections

from games import services

logger = logging.getLogger(__name__)

# pg_try_advisory_lock key of the crash loop: "crash" in ASCII
CRASH_LOOP_LOCK_KEY = 0x6372617368


def _lock_connection() -> psycopg.Connection[Any]:
    database = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=database["NAME"],
        user=database.get("USER") or None,
        password=database.get("PASSWORD") or None,
        host=database.get("HOST") or None,
        port=database.get("PORT") or None,
        autocommit=True,
        application_name="run_crash_loop",
    )


class Command(BaseCommand):
    help = "Run the shared crash round loop (one leader, the others stand by)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="take over, one step, exit")
        parser.add_argument(
            "--heartbeat", help="touch this file at every step, leading or standing by"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stopping = False
        self.heartbeat = Path(options["heartbeat"]) if options["heartbeat"] else None
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        lock: psycopg.Connection[Any] | None = None
        standing_by = False
        while not self.stopping:
            try:
                if lock is None or lock.closed:
                    lock = _lock_connection()
                if not lock.execute(
                    "SELECT pg_try_advisory_lock(%s)", [CRASH_LOOP_LOCK_KEY]
                ).fetchone()[0]:  # type: ignore[index]  # one row always
                    if not standing_by:
                        self._say("standby: another loop leads")
                    standing_by = True
                    self._sleep(settings.CRASH_STANDBY_POLL_SECONDS)
                    continue
                standing_by = False
                self._say("leading")
                self._lead(lock, once=options["once"])
                if options["once"]:
                    return
            except (
                psycopg.Error,
                DatabaseError,
                OSError,
            ) as error:  # the lock's connection or the database
                logger.warning("crash loop: %r; standing by", error)
                if lock is not None:
                    lock.close()
                lock = None
                self._sleep(settings.CRASH_STANDBY_POLL_SECONDS)
        if lock is not None:
            lock.close()  # ends the session: the advisory lock goes with it

    def _lead(self, lock: psycopg.Connection[Any], *, once: bool) -> None:
        handled = services.crash_loop_takeover()
        if handled:
            self._say(f"took over: {handled} round(s) voided or refunded")
        while not self.stopping:
            close_old_connections()
            wait = services.crash_loop_step()
            if once:
                return
            lock.execute("SELECT 1")  # still the leader: the lock lives as long as this session
            self._sleep(max(0.01, min(wait, 1.0)))

    def _say(self, message: str) -> None:
        self.stdout.write(f"crash loop: {message}")
        self.stdout.flush()

    def _sleep(self, seconds: float) -> None:
        if self.heartbeat is not None:  # the container's health check reads its age
            self.heartbeat.touch()
        end = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < end:
            time.sleep(min(0.05, end - time.monotonic()) if end > time.monotonic() else 0)

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True
