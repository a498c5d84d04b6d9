"""Slot spins in-process through Django's test client: queries and milliseconds per spin.

    .venv/bin/python bench/profile_spin.py --spins 200 [--cprofile [--sort tottime] [--top 40]]
    make bench BENCH_ARGS="--profile-spins 200 --cprofile"    # on make bench's database

Runs ``POST /api/games/slot/spin`` through the whole middleware stack in this process (no
server, no network) against a bench database: standalone, it starts the same throw-away durable
PostgreSQL + Redis as ``make bench`` (or uses ``DATABASE_URL``/``REDIS_URL``) and seeds a few
players. Five spins warm up first; then it prints one JSON line with queries per spin (every
statement, the live sends after commit included) and ms per spin (p50/mean/p99), and with
``--cprofile`` the top 20 functions by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import secrets
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from bench import harness, rest


def profile(
    players: rest.Players,
    spins: int,
    bet: int,
    *,
    with_cprofile: bool,
    top: int = 20,
    sort: str = "cumulative",
    dump: str | None = None,
) -> dict[str, Any]:
    """``spins`` spins spread over the players; the figures, and the profile text if asked."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")

    def spin(index: int) -> tuple[int, int, float]:
        token = players.tokens[index % len(players.tokens)]
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.post(
                "/api/games/slot/spin",
                {"bet": bet},
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
                HTTP_IDEMPOTENCY_KEY=f"profile-{secrets.token_hex(8)}",
            )
            elapsed = (time.perf_counter() - started) * 1000
        return response.status_code, len(queries.captured_queries), elapsed

    for index in range(5):
        spin(index)
    profiler = cProfile.Profile() if with_cprofile else None
    results = []
    if profiler:
        profiler.enable()
    for index in range(spins):
        results.append(spin(index))
    if profiler:
        profiler.disable()
    statuses: dict[str, int] = {}
    for status, _, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    queries = [count for _, count, _ in results]
    times = [elapsed for _, _, elapsed in results]
    line: dict[str, Any] = {
        "bench": "profile_spin",
        "spins": spins,
        "statuses": statuses,
        "ok": statuses == {"200": spins},
        "queries_per_spin": {
            "p50": statistics.median(queries),
            "min": min(queries),
            "max": max(queries),
        },
        "ms_per_spin": {
            "p50": round(statistics.median(times), 1),
            "mean": round(statistics.fmean(times), 1),
            "p99": round(harness.percentile(times, 0.99), 1),
        },
    }
    if profiler:
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats(sort).print_stats(top)
        if dump:
            stats.dump_stats(dump)
        line["cprofile_top"] = text.getvalue()
    return line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spins", type=int, default=200)
    parser.add_argument("--players", type=int, default=50)
    parser.add_argument("--bet", type=int, default=10)
    parser.add_argument("--cprofile", action="store_true", help="print the top functions")
    parser.add_argument("--top", type=int, default=20, help="with --cprofile: how many")
    parser.add_argument(
        "--sort", default="cumulative", choices=("cumulative", "tottime"), help="with --cprofile"
    )
    parser.add_argument("--dump", help="with --cprofile: write the pstats file here")
    parser.add_argument(
        "--pg-fsync-off", action="store_true", help="make test's PostgreSQL (no fsync/sync commit)"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, harness.raise_stop)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="casinoclub-profile-") as work,
            harness.bench_services(fsync=not args.pg_fsync_off) as urls,
        ):
            os.environ.update(urls)
            players = rest.prepare(args.players, Path(work))
            line = profile(
                players,
                args.spins,
                args.bet,
                with_cprofile=args.cprofile,
                top=args.top,
                sort=args.sort,
                dump=args.dump,
            )
    except harness.Stop as stop:
        harness.log(f"stopped by {stop}")
        return 130
    top = line.pop("cprofile_top", None)
    print(json.dumps(line), flush=True)
    if top:
        print(top)
    harness.results_append("profile_spin", [{**line, "at": harness.now_iso()}])
    return 0 if line["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
