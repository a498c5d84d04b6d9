"""Analytics at scale: fill a throw-away database with the generator (``bench/analytics_data.py``),
roll every day up, then time the dashboard page and each CSV download.

    make bench-analytics                        # 20,000 players, 200,000 ledger entries
    make bench-analytics BENCH_ARGS="--players 1000000 --ledger 10000000"   # the full figure

Prints one JSON line per figure (appended to ``bench/results/analytics.jsonl``) and a table:
the load (seconds, rows), the rollup of one day (p50/p99 over the days of the window), the
dashboard page over 30 days and each table's CSV over 30 days (p50/p99 over ``--repeat`` requests,
in-process Django client, so the figure is the server's work without a network).
PostgreSQL runs without fsync (a bench of reads and set-based writes, not of durability).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from bench import harness  # sets the settings module and sys.path first


def _timed(function: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def _figures(name: str, seconds: list[float], **extra: Any) -> dict[str, Any]:
    return {
        "figure": name,
        "n": len(seconds),
        "p50_ms": round(harness.percentile(seconds, 0.5) * 1000, 1),
        "p99_ms": round(harness.percentile(seconds, 0.99) * 1000, 1),
        **extra,
    }


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client, override_settings

    from accounts.models import User
    from analytics.selectors import ROLLUP_TABLES
    from analytics.services.rollups import analytics_rollup_day
    from bench.analytics_data import generate

    call_command("migrate", "--no-input", verbosity=0)
    lines: list[dict[str, Any]] = []
    harness.log(
        f"generating {args.players} players, {args.ledger} ledger entries, {args.days} days"
    )
    seconds, generated = _timed(generate, players=args.players, ledger=args.ledger, days=args.days)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        (size,) = cursor.fetchone()
    lines.append(harness.emit({
        "figure": "generate", "seconds": round(seconds, 1), "players": generated.players,
        "activity_rows": generated.activity_rows, "ledger_rows": generated.ledger_rows,
        "rounds": generated.rounds, "purchases": generated.purchases,
        "participations": generated.participations, "database_mib": size // 2**20,
    }))  # fmt: skip
    days = [generated.first_day]
    while days[-1] < generated.last_day:
        days.append(days[-1].fromordinal(days[-1].toordinal() + 1))
    rollups = []
    for day in days:
        elapsed, _ = _timed(analytics_rollup_day, day)
        rollups.append(elapsed)
    lines.append(harness.emit(_figures("rollup_day", rollups, total_s=round(sum(rollups), 1))))
    staff = User.objects.create_superuser(
        site_id="bench-analytics-staff", nickname="benchstaff", phone_number="+82100000000",
        password=None,
    )  # fmt: skip
    client = Client(SERVER_NAME="localhost")
    client.force_login(staff)
    span = {"start": days[0].isoformat(), "end": days[-1].isoformat()}
    pages: list[tuple[str, dict[str, str]]] = [("page", span)] + [
        (f"csv_{name}", {**span, "table": name, "format": "csv"}) for name in ROLLUP_TABLES
    ]
    with override_settings(STAFF_REQUIRE_2FA=False):
        for name, query in pages:
            timings = []
            for _ in range(args.repeat):
                elapsed, response = _timed(client.get, "/admin/analytics/", query)
                assert response.status_code == 200, (name, response.status_code)
                timings.append(elapsed)
            lines.append(harness.emit(_figures(name, timings, bytes=len(response.content))))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=20_000)
    parser.add_argument("--ledger", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=20, help="requests per page figure")
    args = parser.parse_args()
    with harness.bench_services(fsync=False) as urls:
        os.environ.update(urls)
        lines = run(args)
    stamp = {"at": harness.now_iso(), "players": args.players, "ledger": args.ledger}
    harness.results_append("analytics", [{**line, **stamp} for line in lines])
    rows = [("figure", "p50 ms", "p99 ms", "n / seconds")]
    for line in lines:
        if "p50_ms" in line:
            rows.append((line["figure"], str(line["p50_ms"]), str(line["p99_ms"]), str(line["n"])))
        else:
            rows.append((line["figure"], "", "", f"{line['seconds']} s"))
    print(harness.table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
