"""Slot spin throughput and latency of our REST stack, as a ratio to the reference ceiling.

    make bench-spin
    make bench-spin BENCH_ARGS="--skip-reference"            # reuse the last reference figures
    .venv/bin/python bench/spin.py --players 2000 --seconds 10 --servers gunicorn

One command, in this order, every process it starts stopped at the end (also on Ctrl-C, SIGTERM
or the overall ``--deadline``):

1. The reference (``../shared/bench/run_ceiling.sh``): a raw ASGI + psycopg spin under uvicorn
   with 2 workers, loaded by wrk with 32 connections over 10,000 players (spread) and on one wallet
   (hot), then the same transaction under pgbench. It runs first, alone on the machine, in a fresh
   ``BENCH_DIR`` under the temp directory; its venv is kept in ``BENCH_VENV`` (default
   ``<tmp>/casinoclub-bench-venv``) so a second run does not reinstall it. ``--skip-reference``
   reuses the newest reference figures in ``bench/results/spin.jsonl`` instead.
2. Our product in its production shape for REST: a throw-away PostgreSQL and Redis (started with
   ``scripts/devstack.py``'s classes, PostgreSQL *durable* like the reference's: fsync and
   synchronous commit on; ``--pg-fsync-off`` gives ``make test``'s fast settings instead),
   ``migrate``, N VIP players with 1,000,000 gold each (bulk rows: wallet + one ledger entry, so
   ``check_ledger`` holds) and a fair seed, a new slot configuration version with no daily limit,
   one access JWT per player in a tokens file, then ``VACUUM ANALYZE`` + ``CHECKPOINT`` (as the
   reference's seed does, so the first server measured does not pay for the bulk load). Settings:
   ``casinoclub.settings.local`` with ``DJANGO_DEBUG=false`` and ``LOG_LEVEL=WARNING``.
3. For each server — daphne (one process, ``casinoclub.asgi:application``) and gunicorn (2 sync
   workers, ``casinoclub.wsgi:application``; ``--gunicorn-workers``/``--gunicorn-threads`` change
   that) — one sample spin, a 5 s warm-up (discarded), then wrk
   (``bench/run_wrk.sh``: 2 threads x 32 connections x 20 s, a fresh ``Idempotency-Key`` per
   request) spread over every player and hot on the first player.
4. ``manage.py check_ledger`` against the bench database, and the number of rounds stored against
   the number of 200 responses wrk counted (the store may hold up to one in-flight request per
   connection more: wrk stops counting before the server answers them).

Printed: one JSON line per figure ``{target, label, rps, p50_ms, p99_ms, non2xx, statuses,
ratio_to_ceiling_rps, ...}`` (spread against ceiling-spread, hot against ceiling-hot), the ledger
verdict, then a summary table. Each figure also carries ``db_sessions_opened`` (PostgreSQL
connections the server opened in its window) and ``foreign_cpu_percent`` (CPU used by processes
that are not this benchmark's: the 2 cores are shared, so compare only figures where it is low).
Every line (the reference's too) is appended to ``bench/results/spin.jsonl``. Exit status 1 when
the ledger check fails, a figure has errors or non-2xx responses, or a step cannot run.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = PROJECT_DIR / "bench" / "results"
REFERENCE_SCRIPT = PROJECT_DIR.parent / "shared" / "bench" / "run_ceiling.sh"
RUN_WRK = PROJECT_DIR / "bench" / "run_wrk.sh"
# The measured route: ``--route spin`` (issue: slot spin) or ``--route buy`` (a gold pack bought
# through the simulated gateway, which succeeds: debit-free, one credit per request).
ROUTES = {"spin": "/api/games/slot/spin", "buy": "/api/shop/buy"}
ROUTE = "spin"  # set from --route in main()


def route_body(args: argparse.Namespace) -> dict[str, Any]:
    return {"bet": args.bet} if ROUTE == "spin" else {"product_code": args.product}


def results_path() -> Path:
    return RESULTS_DIR / f"{ROUTE}.jsonl"


GOLD = 1_000_000
sys.path.insert(0, str(PROJECT_DIR))
sys.path.insert(0, str(PROJECT_DIR / "scripts"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casinoclub.settings.local")
os.environ["DJANGO_DEBUG"] = "false"
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Per-user purchase velocity limit: off for the load (every request is one of a few players on hot).
os.environ.setdefault("THROTTLE_PURCHASE", "1000000/min")
# The tokens are minted before the first server starts and must outlive the whole run.
os.environ.setdefault("JWT_ACCESS_MINUTES", "60")

import devstack  # scripts/devstack.py: the embedded PostgreSQL and Redis of `make run`/`make test`

SERVERS = ("daphne", "gunicorn")


def server_command(name: str, port: int, args: argparse.Namespace) -> tuple[list[str], str]:
    """The command line of one server and how the results describe it."""
    if name == "daphne":
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                   "casinoclub.asgi:application"]  # fmt: skip
        return command, "daphne, 1 process, casinoclub.asgi:application"
    command = [
        sys.executable, "-m", "gunicorn", "casinoclub.wsgi:application",
        "-w", str(args.gunicorn_workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
    ]  # fmt: skip
    kind = "sync workers"
    if args.gunicorn_threads > 1:  # gthread: a thread pool per worker
        command += ["--threads", str(args.gunicorn_threads)]
        kind = f"gthread workers x {args.gunicorn_threads} threads"
    return command, f"gunicorn, {args.gunicorn_workers} {kind}, casinoclub.wsgi:application"


class Stop(Exception):
    """Raised by SIGTERM/SIGINT/the deadline alarm, so every ``finally`` stops its processes."""


def _raise_stop(signum: int, frame: object) -> None:
    raise Stop(signal.Signals(signum).name)


def log(message: str) -> None:
    print(f"[bench-spin] {message}", file=sys.stderr, flush=True)


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def cpu_busy_percent(seconds: float = 1.0) -> float:
    """How busy the machine's cores are, sampled from /proc/stat (before we start anything, this
    is someone else's load: the figures share 2 cores and are only comparable on a quiet box)."""

    def sample() -> tuple[int, int]:
        fields = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields), idle

    try:
        total_before, idle_before = sample()
        time.sleep(seconds)
        total_after, idle_after = sample()
    except (OSError, ValueError):
        return float("nan")
    total = max(1, total_after - total_before)
    return round(100 * (1 - (idle_after - idle_before) / total), 1)


class ForeignCpu:
    """CPU time of processes that are not this benchmark's, sampled once a second in a thread.

    Ours: this process and its descendants, plus every process whose command line names one of
    ``markers`` (the data folders of the PostgreSQL clusters we start: pg_ctl detaches them) and
    their descendants; kernel threads are left out. The machine's 2 cores are shared, so a figure
    taken while someone else's tests run is low: each figure carries ``foreign_cpu_percent`` (of
    all cores, over its window). A process that starts and ends between two samples is missed, so
    this undercounts: a warning light, not an accounting.
    """

    def __init__(self) -> None:
        self.markers: list[str] = []
        self.foreign_ticks = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.cmdlines: dict[tuple[int, int], str] = {}
        self.thread = threading.Thread(target=self._run, name="foreign-cpu", daemon=True)
        self.tick_rate = os.sysconf("SC_CLK_TCK")
        self.cpus = os.cpu_count() or 1

    def _cmdline(self, key: tuple[int, int]) -> str:
        if key not in self.cmdlines:
            try:
                raw = Path(f"/proc/{key[0]}/cmdline").read_bytes()
            except OSError:
                raw = b""
            self.cmdlines[key] = raw.replace(b"\0", b" ").decode(errors="replace")
        return self.cmdlines[key]

    def _snapshot(self) -> dict[tuple[int, int], int]:
        """CPU ticks so far of every foreign process, keyed by (pid, start time)."""
        stats: dict[int, tuple[int, int, int]] = {}  # pid -> (parent, start time, ticks)
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                raw = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            fields = raw[raw.rindex(")") + 2 :].split()
            stats[int(entry.name)] = (
                int(fields[1]), int(fields[19]), int(fields[11]) + int(fields[12])
            )  # fmt: skip
        me = os.getpid()
        verdicts: dict[int, bool] = {}

        def is_ours(pid: int) -> bool:
            chain, verdict = [], False
            while True:
                if pid in verdicts:
                    verdict = verdicts[pid]
                    break
                chain.append(pid)
                key = (pid, stats[pid][1])
                if pid == me or any(marker in self._cmdline(key) for marker in self.markers):
                    verdict = True
                    break
                parent = stats[pid][0]
                if parent <= 1 or parent not in stats:
                    break
                pid = parent
            verdicts.update(dict.fromkeys(chain, verdict))
            return verdict

        return {
            (pid, start): ticks
            for pid, (parent, start, ticks) in stats.items()
            if pid != 2 and parent != 2 and not is_ours(pid)  # 2: kthreadd and its threads
        }

    def _run(self) -> None:
        previous = self._snapshot()
        while not self.stopped.wait(1.0):
            current = self._snapshot()
            # a process born since the last sample counts whole; one that ended is missed
            delta = sum(ticks - previous.get(key, 0) for key, ticks in current.items())
            with self.lock:
                self.foreign_ticks += max(0, delta)
            previous = current

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(5)

    def mark(self) -> tuple[float, int]:
        with self.lock:
            return time.monotonic(), self.foreign_ticks

    def percent_since(self, mark: tuple[float, int]) -> float:
        """Foreign CPU since ``mark``, in percent of all cores."""
        started, ticks_before = mark
        with self.lock:
            ticks = self.foreign_ticks - ticks_before
        elapsed = max(1e-3, time.monotonic() - started)
        return round(100 * ticks / (elapsed * self.tick_rate * self.cpus), 1)


FOREIGN = ForeignCpu()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _has_exited(pid: int) -> bool:
    """True once the child has exited; it stays unreaped (a zombie), so its pid — the id of its
    process group — cannot be reused by an unrelated process while we signal that group."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None
    except ChildProcessError:
        return True


def process_group_stop(process: subprocess.Popen[Any], grace: float) -> None:
    """Stop a child started with ``start_new_session`` and every process of its group: SIGTERM,
    then SIGKILL for whatever outlives ``grace`` (stragglers such as wrk or gunicorn workers)."""
    if process.returncode is None:  # not reaped yet, so the group id is still ours
        if not _has_exited(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and not _has_exited(process.pid):
                time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)


# ---------------------------------------------------------------- the reference


def reference_run(timeout: float) -> list[dict[str, Any]]:
    """Run ``run_ceiling.sh`` in a fresh BENCH_DIR; return its JSON lines, each named by figure."""
    ports = {
        55432: "PostgreSQL",
        56379: "Redis",
        int(os.environ.get("CEILING_PORT", "8001")): "app",
    }
    for port, what in ports.items():  # the reference's fixed ports (../shared/bench/services.py)
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise RuntimeError(
                    f"127.0.0.1:{port} (the reference's {what}) is taken by another process:"
                    " is another reference run going on? Retry later or use --skip-reference"
                )
    bash = shutil.which("bash") or "/bin/bash"
    bench_dir = Path(tempfile.mkdtemp(prefix="casinoclub-ceiling-"))
    venv = os.environ.get("BENCH_VENV") or str(Path(tempfile.gettempdir(), "casinoclub-bench-venv"))
    env = {**os.environ, "BENCH_DIR": str(bench_dir), "BENCH_VENV": venv}
    log_path = bench_dir / "run_ceiling.log"
    log(f"reference: bash {REFERENCE_SCRIPT} (BENCH_DIR={bench_dir}, about 90 s)")
    FOREIGN.markers.append(f"{bench_dir}/")  # its PostgreSQL, which pg_ctl detaches
    foreign_mark = FOREIGN.mark()
    try:
        with log_path.open("w") as log_file:
            process = subprocess.Popen(
                [bash, str(REFERENCE_SCRIPT)],
                cwd=PROJECT_DIR,
                env=env,
                stdout=subprocess.PIPE,
                stderr=log_file,
                text=True,
                start_new_session=True,
            )
            try:
                stdout, _ = process.communicate(timeout=timeout)
            finally:
                # its own EXIT trap stops uvicorn and the services; this ends whatever is left
                process_group_stop(process, grace=30)
        if process.returncode != 0:
            sys.stderr.write(log_path.read_text()[-4000:])
            raise RuntimeError(f"run_ceiling.sh exited {process.returncode}")
        lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    finally:
        shutil.rmtree(bench_dir, ignore_errors=True)
    foreign = FOREIGN.percent_since(foreign_mark)
    for line in lines:
        line["foreign_cpu_percent"] = foreign  # over the whole reference run
        kind = "pgbench" if line.get("target") == "pgbench" else "ceiling"
        line["figure"] = f"{kind}-{line['label'].removeprefix('ceiling-')}"
    found = {line["figure"] for line in lines}
    missing = {"ceiling-spread", "ceiling-hot"} - found
    if missing:
        raise RuntimeError(f"run_ceiling.sh printed no {sorted(missing)}: {stdout!r}")
    return lines


def reference_last() -> tuple[str, list[dict[str, Any]]]:
    """The newest run in ``bench/results/*.jsonl`` that has both ceiling figures."""
    runs: dict[str, list[dict[str, Any]]] = {}
    raws: list[str] = []
    for results in sorted(RESULTS_DIR.glob("*.jsonl")):
        raws += results.read_text().splitlines()
    raws.sort(key=lambda raw: json.loads(raw).get("at", "") if raw.strip() else "")
    if raws:
        for raw in raws:
            with contextlib.suppress(ValueError):
                line = json.loads(raw)
                if line.get("kind") == "reference":
                    runs.setdefault(line["run"], []).append(line)
    for run_id, lines in reversed(runs.items()):
        if {"ceiling-spread", "ceiling-hot"} <= {line["figure"] for line in lines}:
            return run_id, lines
    raise RuntimeError(f"no reference figures in {RESULTS_DIR}; run once without --skip-reference")


# ---------------------------------------------------------------- our product


@contextlib.contextmanager
def bench_services(*, fsync: bool) -> Iterator[dict[str, str]]:
    """Throw-away PostgreSQL + Redis from scripts/devstack.py (or DATABASE_URL/REDIS_URL)."""
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        log("using DATABASE_URL and REDIS_URL from the environment; no service started")
        yield {"DATABASE_URL": os.environ["DATABASE_URL"], "REDIS_URL": os.environ["REDIS_URL"]}
        return
    with contextlib.ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="casinoclub-")))
        data_dir.chmod(0o755)  # PostgreSQL runs as its own system user when we are root
        FOREIGN.markers.append(f"{data_dir}/")
        # durable=True: fsync and synchronous commit on, as in the reference and in production
        postgres = devstack.EmbeddedPostgres(data_dir, free_port(), durable=fsync)
        stack.callback(postgres.stop)
        database_url = postgres.start()
        redis = devstack.EmbeddedRedis(data_dir, free_port(), durable=False)  # no persistence
        stack.callback(redis.stop)
        redis_url = redis.start()
        log(f"PostgreSQL {database_url} (fsync {'on' if fsync else 'off'}), Redis {redis_url}")
        yield {"DATABASE_URL": database_url, "REDIS_URL": redis_url}


def prepare(players: int, tokens_path: Path) -> dict[str, Any]:
    """Migrate, create VIP players with gold and seeds, an unlimited slot config; write tokens."""
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import DatabaseError, connections, transaction
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import LedgerEntry, LedgerReason, Rank, User, Wallet
    from accounts.tokens import TOKEN_VERSION_CLAIM
    from games import engine
    from games.models import FairSeed, Game, GameConfig
    from games.selectors import game_config_current

    started = time.monotonic()
    call_command("migrate", "--no-input", verbosity=0)
    migrated = time.monotonic()
    run = secrets.token_hex(3)
    password = make_password(secrets.token_urlsafe(12))
    with transaction.atomic():
        users = User.objects.bulk_create(
            (
                User(
                    site_id=f"spin{run}_{index:06d}",
                    nickname=f"S{run}{index:06d}",
                    phone_number=f"+7{int(run, 16) % 10**6:06d}{index:06d}",
                    password=password,
                    rank=Rank.VIP,
                )
                for index in range(players)
            ),
            batch_size=2000,
        )
        # Bulk rows instead of wallet_credit per player (10,000 transactions with their socket
        # messages): each wallet starts with exactly one ledger entry of its balance, which is
        # what check_ledger verifies.
        Wallet.objects.bulk_create(
            (Wallet(user=user, balance=GOLD) for user in users), batch_size=2000
        )
        LedgerEntry.objects.bulk_create(
            (
                LedgerEntry(
                    wallet_id=user.pk,
                    delta=GOLD,
                    balance_after=GOLD,
                    reason=LedgerReason.STAFF_GRANT,
                    reference="bench/spin",
                    idempotency_key=f"bench-spin-fund-{run}",
                )
                for user in users
            ),
            batch_size=2000,
        )
        seeds = []
        for user in users:  # like the reference, every player has a committed seed pair
            server_seed = engine.new_server_seed()
            seeds.append(
                FairSeed(
                    user=user,
                    server_seed=server_seed,
                    server_seed_hash=engine.server_seed_hash(server_seed),
                    client_seed=engine.new_server_seed().hex()[:16],
                )
            )
        FairSeed.objects.bulk_create(seeds, batch_size=2000)
        current = game_config_current(Game.SLOT)
        config = GameConfig.objects.create(
            game=Game.SLOT,
            version=current.version + 1,
            engine=current.engine,
            min_bet=current.min_bet,
            max_bet=max(current.max_bet, 1_000_000),
            daily_limits={rank: 0 for rank in Rank.values},
            note="bench/spin: no daily limit",
        )
    # Access tokens as token_pair_for_user makes them (user id + token version), without the
    # refresh token's OutstandingToken row per player.
    lines = []
    for user in users:
        token = AccessToken.for_user(user)
        token[TOKEN_VERSION_CLAIM] = user.token_version
        lines.append(str(token))
    tokens_path.write_text("\n".join(lines) + "\n")
    # Like the reference's seed: fresh statistics and no pending autovacuum or checkpoint of the
    # bulk load, so the first server measured does not pay for them.
    with connections["default"].cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        with contextlib.suppress(DatabaseError):  # CHECKPOINT needs a superuser (external DB)
            cursor.execute("CHECKPOINT")
    connections.close_all()
    log(
        f"migrated in {migrated - started:.1f} s; {players} VIP players with {GOLD} gold, seeds,"
        f" slot config v{config.version} (no daily limit) and tokens in"
        f" {time.monotonic() - migrated:.1f} s"
    )
    return {"run": run, "config_id": config.pk, "config_version": config.version}


def server_start(
    name: str, command: list[str], port: int, log_path: Path
) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            env=os.environ.copy(),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _has_exited(process.pid):
            break
        with contextlib.suppress(OSError):
            status, _, _ = http_request(port, "GET", "/health", None, {})
            if status == 200:
                return process
        time.sleep(0.2)
    process_group_stop(process, grace=5)
    sys.stderr.write(log_path.read_text()[-4000:])
    raise RuntimeError(f"{name} did not answer /health within 60 s")


def http_request(
    port: int, method: str, path: str, body: str | None, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def wrk_run(
    args: argparse.Namespace, port: int, tokens_path: Path, mode: str, seconds: int, label: str
) -> dict[str, Any]:
    env = {
        **os.environ,
        "BENCH_MODE": mode,
        "BENCH_LABEL": label,
        "BENCH_DURATION": f"{seconds}s",
        "BENCH_THREADS": str(args.threads),
        "BENCH_CONNECTIONS": str(args.connections),
        "BENCH_BODY": json.dumps(route_body(args)),
        "BENCH_KEY_PREFIX": f"spin-{secrets.token_hex(6)}",
    }
    bash = shutil.which("bash") or "/bin/bash"
    process = subprocess.Popen(
        [bash, str(RUN_WRK), f"http://127.0.0.1:{port}", ROUTES[ROUTE], str(tokens_path)],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=seconds + 60)
    finally:
        process_group_stop(process, grace=5)
    if process.returncode != 0:
        sys.stderr.write(stderr[-4000:])
        raise RuntimeError(f"run_wrk.sh exited {process.returncode}")
    return dict(json.loads(stdout.strip().splitlines()[-1]))


def db_sessions() -> int:
    """Sessions the bench database has accepted so far (PostgreSQL's cumulative statistics, which
    a backend flushes about once a second: a diagnostic, not an exact count)."""
    from django.db import connections

    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        row = cursor.fetchone()
    connections.close_all()
    return int(row[0]) if row else 0


def server_measure(
    args: argparse.Namespace, name: str, tokens_path: Path, work_dir: Path
) -> tuple[list[dict[str, Any]], int]:
    """Start one server, sample, warm up, measure spread and hot; (figures, 200s counted)."""
    port = free_port()
    command, description = server_command(name, port, args)
    log(f"{name}: starting ({description}) on 127.0.0.1:{port}")
    process = server_start(name, command, port, work_dir / f"{name}.log")
    ok_responses = 0
    figures = []
    try:
        first_token = tokens_path.read_text().split("\n", 1)[0]
        status, _, body = http_request(
            port,
            "POST",
            ROUTES[ROUTE],
            json.dumps(route_body(args)),
            {
                "Authorization": f"Bearer {first_token}",
                "Content-Type": "application/json",
                "Idempotency-Key": f"{ROUTE}-sample-{secrets.token_hex(6)}",
            },
        )
        log(f"{name}: sample response {status} {body[:300].decode(errors='replace')}")
        if status != 200:
            raise RuntimeError(f"{name}: the sample spin answered {status}")
        ok_responses += 1
        log(f"{name}: warm-up {args.warmup} s (discarded)")
        warmup = wrk_run(args, port, tokens_path, "spread", args.warmup, f"{name}-warmup")
        ok_responses += int(warmup.get("statuses", {}).get("200", 0))
        for mode in ("spread", "hot"):
            log(f"{name}: {mode} {args.seconds} s, {args.threads} threads x {args.connections}")
            sessions_before = db_sessions()
            foreign_mark = FOREIGN.mark()
            figure = wrk_run(args, port, tokens_path, mode, args.seconds, mode)
            figure["foreign_cpu_percent"] = FOREIGN.percent_since(foreign_mark)
            figure["db_sessions_opened"] = db_sessions() - sessions_before - 1  # less our own
            ok_responses += int(figure.get("statuses", {}).get("200", 0))
            figure["target"] = name
            figure["server"] = description
            figures.append(figure)
    finally:
        process_group_stop(process, grace=10)
        log(f"{name}: stopped")
    return figures, ok_responses


def ledger_check(config_id: int) -> dict[str, Any]:
    """``manage.py check_ledger`` on the bench database, plus the slot rounds stored."""
    completed = subprocess.run(
        [sys.executable, "manage.py", "check_ledger"],
        cwd=PROJECT_DIR,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    from django.db import connections

    from games.models import GameRound
    from shop.models import Purchase

    if ROUTE == "spin":
        rounds = GameRound.objects.filter(config_id=config_id).count()
    else:
        rounds = Purchase.objects.filter(status="success").count()
    connections.close_all()
    output = (completed.stdout + completed.stderr).strip()
    return {"ok": completed.returncode == 0, "output": output, "rounds_stored": rounds}


# ---------------------------------------------------------------- output


def figure_line(
    figure: dict[str, Any], reference: dict[str, dict[str, Any]], common: dict[str, Any]
) -> dict[str, Any]:
    ceiling = reference[f"ceiling-{figure['label']}"]
    return {
        **common,
        "kind": "figure",
        "target": figure["target"],
        "label": figure["label"],
        "rps": figure["rps"],
        "p50_ms": figure["p50_ms"],
        "p90_ms": figure["p90_ms"],
        "p99_ms": figure["p99_ms"],
        "non2xx": figure["non2xx"],
        "errors": figure["errors"],
        "statuses": figure["statuses"],
        "replayed": figure.get("replayed", 0),
        "ratio_to_ceiling_rps": round(figure["rps"] / ceiling["rps"], 3),
        "ceiling_rps": ceiling["rps"],
        "ratio_to_ceiling_p99": round(figure["p99_ms"] / ceiling["p99_ms"], 2),
        "server": figure["server"],
        "requests": figure["requests"],
        "db_sessions_opened": figure.get("db_sessions_opened"),
        "foreign_cpu_percent": figure["foreign_cpu_percent"],
        "samples": figure.get("samples", {}),
    }


def summary_table(reference: dict[str, dict[str, Any]], lines: list[dict[str, Any]]) -> str:
    def foreign(line: dict[str, Any]) -> str:
        value = line.get("foreign_cpu_percent")
        return "?" if value is None else f"{value:.1f}"

    rows = [("figure", "rps", "p50 ms", "p99 ms", "non2xx", "x ceiling", "foreign cpu %")]
    for figure in ("ceiling-spread", "ceiling-hot"):
        line = reference[figure]
        rows.append(
            (figure, f"{line['rps']:.1f}", f"{line['p50_ms']:.1f}", f"{line['p99_ms']:.1f}",
             str(line["non2xx"]), "1.000", foreign(line))
        )  # fmt: skip
    for figure in ("pgbench-spread", "pgbench-hot"):
        if figure in reference:
            line = reference[figure]
            rows.append(
                (f"{figure} (tps)", f"{line['tps']:.1f}", f"avg {line['latency_avg_ms']:.1f}",
                 "", str(line.get("failed", 0)), "", foreign(line))
            )  # fmt: skip
    for line in lines:
        rows.append(
            (f"{line['target']}-{line['label']}", f"{line['rps']:.1f}", f"{line['p50_ms']:.1f}",
             f"{line['p99_ms']:.1f}", str(line["non2xx"]), f"{line['ratio_to_ceiling_rps']:.3f}",
             foreign(line))
        )  # fmt: skip
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    )


def results_append(lines: list[dict[str, Any]]) -> None:
    results_path().parent.mkdir(parents=True, exist_ok=True)
    with results_path().open("a") as results_file:
        for line in lines:
            results_file.write(json.dumps(line) + "\n")


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=20, help="each measured wrk run")
    parser.add_argument("--warmup", type=int, default=5, help="discarded wrk run per server")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--route", choices=sorted(ROUTES), default="spin")
    parser.add_argument("--bet", type=int, default=10)
    parser.add_argument("--product", default="gold-small", help="--route buy: the product code")
    parser.add_argument(
        "--servers", default="daphne,gunicorn", help=f"comma-separated, of {', '.join(SERVERS)}"
    )
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--gunicorn-threads", type=int, default=1, help=">1: gthread workers")
    parser.add_argument("--skip-reference", action="store_true", help="reuse the last figures")
    parser.add_argument(
        "--pg-fsync-off", action="store_true", help="make test's PostgreSQL (no fsync/sync commit)"
    )
    parser.add_argument("--deadline", type=int, default=350, help="seconds for the whole run")
    args = parser.parse_args()
    global ROUTE
    ROUTE = args.route
    servers = [name.strip() for name in args.servers.split(",") if name.strip()]
    unknown = set(servers) - set(SERVERS)
    if unknown or not servers:
        parser.error(f"--servers: unknown {sorted(unknown)}; choose from {', '.join(SERVERS)}")
    if not 1 <= args.players <= 999_999:
        parser.error("--players must be 1 to 999999")

    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGALRM, _raise_stop)
    signal.alarm(args.deadline)
    started = time.monotonic()
    run_id = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(2)}"
    busy = cpu_busy_percent()
    FOREIGN.start()
    common: dict[str, Any] = {
        "bench": ROUTE,
        "run": run_id,
        "at": now_iso(),
        "cpu_busy_at_start": busy,
    }
    if busy > 15:
        log(
            f"WARNING: the machine is {busy}% busy before the benchmark starts; figures will be low"
        )
    try:
        if args.skip_reference:
            reference_run_id, reference_lines = reference_last()
            log(f"reference: reusing run {reference_run_id} from {RESULTS_DIR}")
            new_reference_lines: list[dict[str, Any]] = []
        else:
            remaining = args.deadline - (time.monotonic() - started)
            reference_lines = reference_run(timeout=max(30.0, remaining - 120))
            reference_run_id = run_id
            new_reference_lines = [
                {**common, "kind": "reference", **line} for line in reference_lines
            ]
            results_append(new_reference_lines)
            for line in new_reference_lines:
                print(json.dumps(line), flush=True)
        reference = {line["figure"]: line for line in reference_lines}
        common.update(
            reference_run=reference_run_id,
            players=args.players,
            threads=args.threads,
            connections=args.connections,
            duration_s=args.seconds,
            pg_fsync=not args.pg_fsync_off,
        )

        figure_lines: list[dict[str, Any]] = []
        ok_responses = 0
        with (
            tempfile.TemporaryDirectory(prefix="casinoclub-spin-") as work,
            bench_services(fsync=not args.pg_fsync_off) as urls,
        ):
            os.environ.update(urls)
            work_dir = Path(work)
            tokens_path = work_dir / "tokens.txt"
            prepared = prepare(args.players, tokens_path)
            for name in servers:
                figures, ok = server_measure(args, name, tokens_path, work_dir)
                ok_responses += ok
                for figure in figures:
                    line = figure_line(figure, reference, common)
                    figure_lines.append(line)
                    print(json.dumps(line), flush=True)
            ledger = ledger_check(prepared["config_id"])
        ledger_line = {
            **common,
            "kind": "check_ledger",
            "target": "check_ledger",
            "ok": ledger["ok"],
            "verdict": "ledger OK" if ledger["ok"] else "LEDGER BROKEN",
            "rounds_stored": ledger["rounds_stored"],
            "ok_responses_counted": ok_responses,
            "output": ledger["output"],
        }
        print(json.dumps(ledger_line), flush=True)
        results_append([*figure_lines, ledger_line])
    except Stop as stop:
        log(f"stopped by {stop}; every process started here has been stopped")
        return 130
    except RuntimeError as error:
        log(f"ERROR: {error}; every process started here has been stopped")
        return 1
    finally:
        signal.alarm(0)
        FOREIGN.stop()

    print()
    print(summary_table(reference, figure_lines))
    print(
        f"check_ledger: {ledger_line['verdict']} ({ledger['output'].splitlines()[0]});"
        f" {'slot rounds' if ROUTE == 'spin' else 'purchases'} stored {ledger['rounds_stored']},"
        f" 200 responses counted {ok_responses}"
    )
    print(
        f"reference run {reference_run_id}; {time.monotonic() - started:.0f} s;"
        f" results {results_path()}"
    )
    noisy = [
        line
        for line in [*reference_lines, *figure_lines]
        if (line.get("foreign_cpu_percent") or 0) > 10
    ]
    for line in noisy:
        name = line.get("figure") or f"{line['target']}-{line['label']}"
        log(
            f"WARNING: {name} shared the machine with other work"
            f" ({line['foreign_cpu_percent']}% of the cores): compare it with care"
        )
    broken = [line for line in figure_lines if line["non2xx"] or line["errors"]]
    for line in broken:
        log(f"{line['target']}-{line['label']}: non2xx {line['non2xx']}, errors {line['errors']}")
    return 0 if ledger["ok"] and not broken else 1


if __name__ == "__main__":
    sys.exit(main())
