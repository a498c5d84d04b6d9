"""``make run`` is one instance per checkout: a second one refuses, touches nothing, exits non-zero.

The quick tests hold the lock (or a port) themselves; the slow one (marker ``fault``: it starts
and stops real PostgreSQL, Redis, daphne and Celery processes) runs the whole product twice on one
data directory and checks the first instance survives the second and stops cleanly on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import termios
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from casinoclub.tests.processes import free_port, wait_until

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEVSTACK = [sys.executable, str(PROJECT_DIR / "scripts" / "devstack.py")]
MAKE = shutil.which("make") or "/usr/bin/make"


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Readable by PostgreSQL's own system user when the tests run as root (like --ephemeral).
    directory = Path(tempfile.mkdtemp(prefix="casinoclub-devstack-"))
    directory.chmod(0o755)
    yield directory / "data"
    shutil.rmtree(directory, ignore_errors=True)


def _environment(data_dir: Path, web_port: int, pg_port: int, redis_port: int) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "EMAIL_URL"}
    }
    env.update(
        CASINO_DATA_DIR=str(data_dir),
        PORT=str(web_port),
        CASINO_PG_PORT=str(pg_port),
        CASINO_REDIS_PORT=str(redis_port),
    )
    return env


def _health_status(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_a_second_run_refuses_while_the_lock_is_held_and_starts_nothing(data_dir):
    # given: a running instance of this checkout, i.e. the data directory's lock is held
    data_dir.mkdir()
    env = _environment(data_dir, free_port(), free_port(), free_port())
    with open(data_dir / "devstack.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write("4242\n")
        lock.flush()

        # when: another run starts
        second = subprocess.run(
            [*DEVSTACK, "run"], env=env, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60
        )

    # then: it says so, exits 2, and created or stopped nothing
    assert second.returncode == 2
    assert "already running from this checkout (devstack pid 4242" in second.stderr
    assert sorted(path.name for path in data_dir.iterdir()) == ["devstack.lock"]
    assert (data_dir / "devstack.lock").read_text() == "4242\n"


def test_a_command_on_the_checkout_s_services_refuses_while_an_instance_runs(data_dir):
    # given: a running instance (the lock held)
    data_dir.mkdir()
    env = _environment(data_dir, free_port(), free_port(), free_port())
    with open(data_dir / "devstack.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)

        # when: `devstack.py exec` (not --ephemeral) wants the same data directory
        run = subprocess.run(
            [*DEVSTACK, "exec", "--", "true"],
            env=env,
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=60,
        )

    # then: it starts (and later stops) no PostgreSQL of its own on that data
    assert run.returncode == 2
    assert "already running from this checkout" in run.stderr
    assert not (data_dir / "pgdata").exists()


def test_a_run_refuses_when_its_web_port_is_taken(data_dir):
    # given: another program listening on the web port
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        web_port = listener.getsockname()[1]
        env = _environment(data_dir, web_port, free_port(), free_port())

        # when
        run = subprocess.run(
            [*DEVSTACK, "run"], env=env, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60
        )

    # then: refused before any service started; the lock is free again
    assert run.returncode == 2
    assert f"port {web_port} is taken by another program" in run.stderr
    assert not (data_dir / "pgdata").exists()
    assert not (data_dir / "redis").exists()
    urls = subprocess.run(
        [*DEVSTACK, "urls"], env=env, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60
    )
    assert urls.returncode == 1
    assert "is not running in this checkout" in urls.stderr


def _in_a_terminal() -> None:
    """(In the child) start a session whose controlling terminal is stdin, as a shell's job."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _parent_pid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@pytest.mark.fault
@pytest.mark.timeout(600)
def test_two_make_runs_in_one_checkout_the_second_refuses_and_the_first_keeps_serving(data_dir):
    web_port, pg_port, redis_port = free_port(), free_port(), free_port()
    env = _environment(data_dir, web_port, pg_port, redis_port)
    log_path = data_dir.parent / "first.log"
    terminal, terminal_device = os.openpty()
    runner_pid = 0
    # given: a first `make run` in a terminal of its own, started and serving
    with open(log_path, "wb") as log:
        first = subprocess.Popen(
            [MAKE, "-o", ".venv/.installed", "run"],
            env=env,
            cwd=PROJECT_DIR,
            stdin=terminal_device,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_in_a_terminal,  # setsid and one ioctl: safe in the child
        )
    os.close(terminal_device)
    try:
        wait_until(
            lambda: first.poll() is not None or (data_dir / "banner.txt").exists(),
            "the first instance's start-up banner",
            timeout=420,
        )
        assert first.poll() is None, log_path.read_text(errors="replace")[-4000:]
        started_at = time.monotonic()
        runner_pid = int((data_dir / "devstack.lock").read_text())
        assert _parent_pid(runner_pid) == first.pid  # the lock names make's devstack
        assert _health_status(web_port) == 200

        # when: `make run` again in the same checkout
        second = subprocess.run(
            [MAKE, "-o", ".venv/.installed", "run"],
            env=env,
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=120,
        )

        # then: the second refuses and exits non-zero; the first still serves, same cluster
        assert second.returncode != 0
        assert "already running from this checkout" in second.stderr
        assert f"devstack pid {runner_pid}" in second.stderr
        time.sleep(2)  # what a second instance's exit used to do took effect by now
        assert first.poll() is None
        assert _health_status(web_port) == 200
        assert (data_dir / "pgdata" / "postmaster.pid").exists()
        urls = subprocess.run(
            [MAKE, "--no-print-directory", "urls"],
            env=env,
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert urls.returncode == 0
        assert f"admin      http://127.0.0.1:{web_port}/admin/" in urls.stdout
        # and the mail server it started takes a message (it keeps them for the admin)
        mail = re.search(r"mail +smtp://127\.0\.0\.1:(\d+) ", urls.stdout)
        assert mail is not None, urls.stdout
        smtp_port = int(mail.group(1))
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
            refused = smtp.sendmail(
                "noreply@example.com", ["player@example.com"], "Subject: hello\r\n\r\nhello"
            )
        assert refused == {}
        # beat has sent the 10-second crash sweep by now; routine dispatches are not at INFO
        time.sleep(max(0.0, 12 - (time.monotonic() - started_at)))
        output = log_path.read_text(errors="replace")
        assert output.count("Casino Club is running.") == 1
        assert "Sending due task" not in output

        # when: Ctrl-C in the first one's terminal
        os.write(terminal, b"\x03")

        # then: make exits 0 (no "Error"), and everything it started is stopped
        assert first.wait(90) == 0, log_path.read_text(errors="replace")[-4000:]
        output = log_path.read_text(errors="replace")
        assert "make: ***" not in output
        assert not _port_open(web_port)
        assert not _port_open(pg_port)
        assert not _port_open(redis_port)
        assert not _port_open(smtp_port)
        assert not (data_dir / "banner.txt").exists()
    finally:
        for group in (runner_pid, first.pid):
            if group:
                with contextlib.suppress(OSError):
                    os.killpg(group, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            first.wait(90)
        os.close(terminal)
