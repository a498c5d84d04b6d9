"""The machinery every benchmark of ``make bench`` shares (``bench/run.py`` drives it).

Processes (each started in its own session and stopped with its whole group, also on Ctrl-C,
SIGTERM or the overall deadline), the reference harness (``../shared/bench/run_ceiling.sh``), the
throw-away PostgreSQL + Redis, the servers in production shape (gunicorn for REST, daphne for
sockets), the wrk runner (``bench/run_wrk.sh``), the foreign-CPU meter, result lines and tables.
Importing it sets the environment of every server it starts: ``bench.settings`` (the product's
``casinoclub.settings.local`` plus the bench-only ``bench/floor.py`` route) with
``DJANGO_DEBUG=false`` and ``LOG_LEVEL=WARNING``, plus ``BENCH_SERVER_ENV`` (the limits a load
test needs; printed with the results).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = PROJECT_DIR / "bench" / "results"
# BENCH_REFERENCE_SCRIPT: where the reference harness is when the checkout is not beside it.
REFERENCE_SCRIPT = Path(
    os.environ.get("BENCH_REFERENCE_SCRIPT")
    or PROJECT_DIR.parent / "shared" / "bench" / "run_ceiling.sh"
)
RUN_WRK = PROJECT_DIR / "bench" / "run_wrk.sh"

sys.path.insert(0, str(PROJECT_DIR))
sys.path.insert(0, str(PROJECT_DIR / "scripts"))
# The product's settings plus one bench-only route (bench/floor.py), see bench/settings.py.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ["DJANGO_DEBUG"] = "false"
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("LOG_LEVEL", "WARNING")

# Only the bench servers get these (this process's environment, inherited by every server it
# starts); production keeps the defaults of casinoclub/settings/base.py.
BENCH_SERVER_ENV = {
    # Login is throttled per client address (30/min) and wrk comes from one address.
    "THROTTLE_LOGIN": "100000000/min",
    # Per-player purchase velocity (30/min): the hot shop buy is one player.
    "THROTTLE_PURCHASE": "100000000/min",
    # The tokens are minted before the first server starts and must outlive the whole run.
    "JWT_ACCESS_MINUTES": "600",
}
for _name, _value in BENCH_SERVER_ENV.items():
    os.environ.setdefault(_name, _value)

import devstack  # scripts/devstack.py: the embedded PostgreSQL and Redis of `make run`/`make test`


class Stop(Exception):
    """Raised by SIGTERM/SIGINT/the deadline alarm, so every ``finally`` stops its processes."""


def raise_stop(signum: int, frame: object) -> None:
    raise Stop(signal.Signals(signum).name)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


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

    Our own processes' CPU is kept too, by part (``PARTS``: the REST server, PostgreSQL, the
    Celery workers, Redis, daphne, wrk, the rest): where a figure's cores went
    (``split_since``), which the summary prints as CPU milliseconds per request.
    """

    PARTS = (
        ("web", ("gunicorn", "granian")),
        ("postgres", ("postgres",)),
        ("workers", ("celery",)),
        ("redis", ("redis-server",)),
        ("daphne", ("daphne",)),
        ("wrk", ("wrk ",)),
    )

    def __init__(self) -> None:
        self.markers: list[str] = []
        self.foreign_ticks = 0
        self.part_ticks: dict[str, int] = {}
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

    def _part(self, key: tuple[int, int]) -> str:
        command = self._cmdline(key)
        for part, needles in self.PARTS:
            if any(needle in command for needle in needles):
                return part
        return "other"

    def _snapshot(self) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int], int]]:
        """CPU ticks so far of every foreign process and of every one of ours, keyed by
        (pid, start time)."""
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

        foreign: dict[tuple[int, int], int] = {}
        ours: dict[tuple[int, int], int] = {}
        for pid, (parent, start, ticks) in stats.items():
            if pid == 2 or parent == 2:  # kthreadd and its threads
                continue
            (ours if is_ours(pid) else foreign)[(pid, start)] = ticks
        return foreign, ours

    def _run(self) -> None:
        previous, previous_ours = self._snapshot()
        while not self.stopped.wait(1.0):
            current, current_ours = self._snapshot()
            # a process born since the last sample counts whole; one that ended is missed
            delta = sum(ticks - previous.get(key, 0) for key, ticks in current.items())
            parts: dict[str, int] = {}
            for key, ticks in current_ours.items():
                part = self._part(key)
                parts[part] = parts.get(part, 0) + max(0, ticks - previous_ours.get(key, 0))
            with self.lock:
                self.foreign_ticks += max(0, delta)
                for part, ticks in parts.items():
                    self.part_ticks[part] = self.part_ticks.get(part, 0) + ticks
            previous, previous_ours = current, current_ours

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(5)

    def mark(self) -> tuple[float, int, dict[str, int]]:
        with self.lock:
            return time.monotonic(), self.foreign_ticks, dict(self.part_ticks)

    def percent_since(self, mark: tuple[float, int, dict[str, int]]) -> float:
        """Foreign CPU since ``mark``, in percent of all cores."""
        started, ticks_before, _ = mark
        with self.lock:
            ticks = self.foreign_ticks - ticks_before
        elapsed = max(1e-3, time.monotonic() - started)
        return round(100 * ticks / (elapsed * self.tick_rate * self.cpus), 1)

    def split_since(self, mark: tuple[float, int, dict[str, int]]) -> dict[str, float]:
        """Our processes' CPU since ``mark`` by part, in CPU seconds (sampled once a second)."""
        _, _, before = mark
        with self.lock:
            now = dict(self.part_ticks)
        return {
            part: round((ticks - before.get(part, 0)) / self.tick_rate, 2)
            for part, ticks in sorted(now.items())
            if ticks - before.get(part, 0) > 0
        }


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


def raise_open_files_limit() -> int:
    """Raise this process's soft limit of open files to the hard limit (the servers and socket
    clients started from here inherit it); return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1_048_576
    if soft == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def gunicorn_command(port: int, workers: int, threads: int) -> tuple[list[str], str]:
    """gunicorn as in production (``deploy/gunicorn.conf.py``'s WSGI app), sync or gthread."""
    command = [
        sys.executable, "-m", "gunicorn", "casinoclub.wsgi:application",
        "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
    ]  # fmt: skip
    kind = "sync workers"
    if threads > 1:  # gthread: a thread pool per worker
        command += ["--threads", str(threads)]
        kind = f"gthread workers x {threads} threads"
    return command, f"gunicorn, {workers} {kind}, casinoclub.wsgi:application"


def granian_command(port: int, workers: int, threads: int) -> tuple[list[str], str]:
    """granian serving the same WSGI app: ``workers`` processes, ``threads`` blocking threads each
    (the Python threads that run Django; 1 is the equivalent of gunicorn's sync worker)."""
    command = [
        sys.executable, "-m", "granian", "--interface", "wsgi",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--blocking-threads", str(threads), "--log-level", "warning", "--no-ws",
        "casinoclub.wsgi:application",
    ]  # fmt: skip
    return command, f"granian, {workers} workers x {threads} blocking threads, WSGI"


def daphne_command(port: int) -> tuple[list[str], str]:
    """One daphne process (the ``daphne`` service of docker-compose.yml: sockets + SSE)."""
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
               "casinoclub.asgi:application"]  # fmt: skip
    return command, "daphne, 1 process, casinoclub.asgi:application"


def server_start(
    name: str, command: list[str], port: int, log_path: Path
) -> subprocess.Popen[bytes]:
    """Start a server in its own session; return once it answers ``GET /health`` with 200."""
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
            status, _, _ = http_request(port, "GET", "/health", None, {}, timeout=10)
            if status == 200:
                return process
        time.sleep(0.2)
    process_group_stop(process, grace=5)
    sys.stderr.write(log_path.read_text()[-4000:])
    raise RuntimeError(f"{name} did not answer /health within 60 s")


@contextlib.contextmanager
def server_running(name: str, command: list[str], port: int, log_path: Path) -> Iterator[int]:
    """A started server for the block (yields its pid); stopped with its group afterwards."""
    log(f"{name}: starting on 127.0.0.1:{port}")
    process = server_start(name, command, port, log_path)
    try:
        yield process.pid
    finally:
        process_group_stop(process, grace=10)
        log(f"{name}: stopped")


def http_request(
    port: int,
    method: str,
    path: str,
    body: str | None,
    headers: dict[str, str],
    timeout: float = 120,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def drain(port: int) -> float:
    """Wait until the server answers ``GET /health`` again; return the seconds waited.

    When wrk stops, the requests its connections had sent are still queued in the server (a sync
    worker answers them even though nobody reads the answer); the next measurement must not pay
    for them."""
    started = time.monotonic()
    with contextlib.suppress(OSError):
        http_request(port, "GET", "/health", None, {}, timeout=300)
    return round(time.monotonic() - started, 2)


class WrkRun:
    """One ``bench/run_wrk.sh`` run, started in the background; ``result()`` waits for its line."""

    def __init__(self, port: int, path: str, seconds: int, env: dict[str, str]) -> None:
        self.seconds = seconds
        bash = shutil.which("bash") or "/bin/bash"
        tokens = env.get("BENCH_TOKENS_FILE", "-")
        self.process = subprocess.Popen(
            [bash, str(RUN_WRK), f"http://127.0.0.1:{port}", path, tokens],
            cwd=PROJECT_DIR,
            env={**os.environ, "BENCH_DURATION": f"{seconds}s", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def result(self) -> dict[str, Any]:
        try:
            stdout, stderr = self.process.communicate(timeout=self.seconds + 60)
        finally:
            process_group_stop(self.process, grace=5)
        if self.process.returncode != 0:
            sys.stderr.write(stderr[-4000:])
            raise RuntimeError(f"run_wrk.sh exited {self.process.returncode}")
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


def check_ledger() -> dict[str, Any]:
    """``manage.py check_ledger`` on the bench database."""
    return manage_check("check_ledger")


def manage_check(command: str) -> dict[str, Any]:
    """A ``manage.py`` check command on the bench database: exit status and output."""
    completed = subprocess.run(
        [sys.executable, "manage.py", command],
        cwd=PROJECT_DIR,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = (completed.stdout + completed.stderr).strip()
    return {"ok": completed.returncode == 0, "output": output}


def rss_kib(pid: int) -> int | None:
    """Resident memory of a process in KiB (``VmRSS`` of ``/proc/<pid>/status``)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# ---------------------------------------------------------------- output


def results_append(name: str, lines: list[dict[str, Any]]) -> Path:
    """Append JSON lines to ``bench/results/<name>.jsonl``; return its path."""
    path = RESULTS_DIR / f"{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as results_file:
        for line in lines:
            results_file.write(json.dumps(line) + "\n")
    return path


def emit(line: dict[str, Any]) -> dict[str, Any]:
    print(json.dumps(line), flush=True)
    return line


def table(rows: Sequence[tuple[str, ...]]) -> str:
    """Rows of cells as aligned text: the first column left-aligned, the others right-aligned."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )
