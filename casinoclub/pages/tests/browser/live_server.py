"""The product in its real shape for browser tests: one daphne process on the test database.

daphne serves HTTP (pages, API, static files) and the ``/api/realtime/sync`` socket from
``live_asgi``. Socket messages need nothing else: every change stores its message in its own
transaction and the process that made it (daphne, or the test process for changes a test makes
directly) sends the live copy through Redis after commit; a reconnecting socket replays the rest
from the store. Celery runs eagerly inside daphne (the test settings), and nothing in the pages'
stories waits for beat, so no worker is started (docs/decisions/0065-browser-tests.md).
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from django.conf import settings

from casinoclub.tests.processes import child_database_url, free_port

READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
ASGI_APPLICATION = "casinoclub.pages.tests.browser.live_asgi:application"


def live_server_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment pointed at the test database and Redis, plus ``extra``."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "casinoclub.settings.test",
        "DATABASE_URL": child_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "PAYMENT_WEBHOOK_SECRET": settings.PAYMENT_WEBHOOK_SECRET,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    # Only this process runs Playwright's event loop next to the ORM (see conftest).
    environment.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return environment


class LiveServer:
    """A daphne process on a fixed free port; ``restart`` keeps the port, so pages reconnect."""

    def __init__(self, *, environment: Mapping[str, str], log_path: Path) -> None:
        self.environment = dict(environment)
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start daphne and wait until ``/health`` answers 200 (PostgreSQL and Redis reachable)."""
        assert self.process is None, "the live server is already running"
        command = [
            sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
            "--access-log", "-", ASGI_APPLICATION,
        ]  # fmt: skip
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"--- starting daphne on port {self.port}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command,
                cwd=settings.BASE_DIR,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        last_problem = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"daphne exited with {self.process.returncode} while starting:\n{self.log_tail()}"
                )
            try:
                connection_ = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                try:
                    connection_.request("GET", "/health")
                    response = connection_.getresponse()
                    response.read()
                finally:
                    connection_.close()
                if response.status == 200:
                    return
                last_problem = f"/health answered {response.status}"
            except OSError as error:
                last_problem = repr(error)
            time.sleep(0.1)
        raise RuntimeError(
            f"daphne was not ready after {READY_TIMEOUT_SECONDS:.0f}s ({last_problem}):\n"
            f"{self.log_tail()}"
        )

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if daphne has not exited in time. Open sockets drop."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_SECONDS)
        self.process = None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT_SECONDS)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, characters: int = 6000) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return self.log_path.read_text(errors="replace")[-characters:]
