"""make bench: the product in its production shape against the reference, in one command.

    make bench                                         # everything, about 20 minutes
    make bench BENCH_ARGS="--skip-reference"           # reuse the newest reference figures
    make bench BENCH_ARGS="--seconds 3 --players 500 --sockets 100 --idle-steps 200,400 \\
        --rtp-rounds 100000"                           # a quick end-to-end check

In this order, every process it starts stopped at the end (also on Ctrl-C, SIGTERM or
``--deadline``):

1. The reference (``../shared/bench/run_ceiling.sh``, see ``harness.reference_run``): a raw ASGI +
   psycopg slot spin under uvicorn, wrk at 32 connections spread and hot, and pgbench. It runs
   first, alone. ``--skip-reference`` reuses the newest figures in ``bench/results/``.
2. A throw-away durable PostgreSQL (fsync and synchronous commit on) and Redis, ``migrate``,
   ``--players`` VIP players with 1,000,000 gold, seeds, tokens and login bodies, one staff
   member (``rest.prepare``). Settings: ``bench.settings`` (``casinoclub.settings.local`` plus
   the bench-only floor route), ``DJANGO_DEBUG=false``, and for the bench servers only the limits
   a load test needs (``harness.BENCH_SERVER_ENV``: the login and purchase throttles; printed as
   the ``settings`` line).
3. REST (``rest.py``) on gunicorn (``--servers``; 4 sync workers as deploy/gunicorn.conf.py's
   default): the floor (the reference's transaction on our stack, ``bench/floor.py``), slot spin,
   shop buy, streak claim, login and catalog, each sampled, warmed up, then
   wrk at every ``--connections`` level (32 and 128) spread and hot (streak: ``once``). One Celery
   worker per projection partition applies the event log meanwhile, and every figure carries the
   projection lag sampled during its run (``projection_lag.py``: p50/p99 of the worst
   projection's lag, and how long the projections took to catch up after the load).
4. Sockets (``realtime_latency.py``): ``--sockets`` connected to daphne while the spin load runs
   on gunicorn and gold grants are committed; commit -> receive p50/p99.
5. Idle sockets (``idle_sockets.py``): one daphne process, ``--idle-steps``; held and RSS.
6. ``manage.py check_ledger`` and ``manage.py check_projections``, and rows stored against the
   200s counted per route.
7. ``manage.py simulate_rtp slot --rounds 10000000`` timed (``simulate_rtp_speed.py``).
8. With ``--profile-spins N``: N spins in-process (``profile_spin.py``) on the same database.

Output: one JSON line per figure on stdout (each appended to ``bench/results/<part>.jsonl``), then
summary tables. Exit status 1 when the ledger check fails, a figure is flagged (socket errors or an
answer that is not 2xx), sockets miss messages, the idle series fails its first step, or a step
cannot run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from bench import (
    harness,
    idle_sockets,
    projection_lag,
    realtime_latency,
    rest,
    simulate_rtp_speed,
)
from bench.harness import FOREIGN, emit, log

PARTS = ("rest", "sockets", "idle", "rtp")
SERVERS = ("gunicorn", "gthread", "granian", "daphne")


def int_list(text: str) -> list[int]:
    return [int(item) for item in text.split(",") if item.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PARTS), help=f"of {', '.join(PARTS)}")
    parser.add_argument("--players", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=20, help="each measured wrk run")
    parser.add_argument("--warmup", type=int, default=5, help="discarded wrk run per route")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int_list, default=[32, 128], help="e.g. 32,128")
    parser.add_argument("--routes", default="floor,spin,buy,streak,login,catalog")
    parser.add_argument("--bet", type=int, default=10)
    parser.add_argument("--product", default="gold-small", help="shop buy: the product code")
    parser.add_argument(
        "--servers", default="gunicorn", help=f"REST servers, of {', '.join(SERVERS)}"
    )
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--gunicorn-threads", type=int, default=1, help=">1: gthread workers")
    parser.add_argument("--gthread-threads", type=int, default=4, help="the gthread server")
    parser.add_argument("--granian-threads", type=int, default=1, help="blocking threads")
    parser.add_argument("--skip-reference", action="store_true", help="reuse the last figures")
    parser.add_argument(
        "--pg-fsync-off", action="store_true", help="make test's PostgreSQL (no fsync/sync commit)"
    )
    parser.add_argument("--sockets", type=int, default=1000, help="connected during the load")
    parser.add_argument("--daphne", type=int, default=1, help="daphne processes for the sockets")
    parser.add_argument("--grant-rate", type=float, default=20.0, help="gold grants per second")
    parser.add_argument("--socket-seconds", type=int, default=0, help="default: --seconds")
    parser.add_argument("--socket-load-connections", type=int, default=32)
    parser.add_argument("--idle-steps", type=int_list, default=[1000, 2000, 5000, 10000])
    parser.add_argument("--idle-clients", type=int, default=4, help="client processes")
    parser.add_argument("--idle-handshakes", type=int, default=32, help="in flight at once")
    parser.add_argument("--rtp-rounds", type=int, default=10_000_000)
    parser.add_argument("--profile-spins", type=int, default=0, help="in-process spins to time")
    parser.add_argument("--cprofile", action="store_true", help="with --profile-spins: top 20")
    parser.add_argument("--deadline", type=int, default=3600, help="seconds for the whole run")
    args = parser.parse_args(argv)
    args.parts = [part.strip() for part in args.only.split(",") if part.strip()]
    args.route_names = [name.strip() for name in args.routes.split(",") if name.strip()]
    args.server_names = [name.strip() for name in args.servers.split(",") if name.strip()]
    known_routes = rest.routes(args.bet, args.product)
    for given, known, option in (
        (args.parts, PARTS, "--only"),
        (args.route_names, tuple(known_routes), "--routes"),
        (args.server_names, SERVERS, "--servers"),
    ):
        unknown = set(given) - set(known)
        if unknown or not given:
            parser.error(f"{option}: unknown {sorted(unknown)}; choose from {', '.join(known)}")
    if not 1 <= args.players <= 999_999:
        parser.error("--players must be 1 to 999999")
    if not args.connections:
        parser.error("--connections: give at least one level")
    args.socket_seconds = args.socket_seconds or args.seconds
    return args


def server_command(name: str, port: int, args: argparse.Namespace) -> tuple[list[str], str]:
    if name == "daphne":
        return harness.daphne_command(port)
    if name == "gthread":
        return harness.gunicorn_command(port, args.gunicorn_workers, args.gthread_threads)
    if name == "granian":
        return harness.granian_command(port, args.gunicorn_workers, args.granian_threads)
    return harness.gunicorn_command(port, args.gunicorn_workers, args.gunicorn_threads)


# ---------------------------------------------------------------- the parts


def part_rest(
    args: argparse.Namespace,
    players: rest.Players,
    reference: dict[str, dict[str, Any]],
    common: dict[str, Any],
    work_dir: Path,
) -> list[dict[str, Any]]:
    known = rest.routes(args.bet, args.product)
    lines = []
    partitions = int(os.environ.get("PROJECTION_PARTITIONS", "1"))
    with projection_lag.workers_running(partitions, work_dir):
        for server in args.server_names:
            lines += _rest_on(server, args, players, reference, common, work_dir, known)
    return lines


def _rest_on(
    server: str,
    args: argparse.Namespace,
    players: rest.Players,
    reference: dict[str, dict[str, Any]],
    common: dict[str, Any],
    work_dir: Path,
    known: dict[str, rest.Route],
) -> list[dict[str, Any]]:
    """Every route on one server (the projection workers run meanwhile)."""
    lines = []
    port = harness.free_port()
    command, description = server_command(server, port, args)
    with harness.server_running(server, command, port, work_dir / f"{server}.log"):
        for name in args.route_names:
            figures = rest.measure_route(
                server, description, port, known[name], players,
                connection_levels=args.connections, threads=args.threads,
                seconds=args.seconds, warmup=args.warmup,
            )  # fmt: skip
            route_lines = [emit(rest.figure_line(figure, reference, common)) for figure in figures]
            harness.results_append(name, route_lines)
            lines += route_lines
    return lines


def part_sockets(
    args: argparse.Namespace, players: rest.Players, common: dict[str, Any], work_dir: Path
) -> dict[str, Any]:
    count = min(args.sockets, players.count)
    rest_port = harness.free_port()
    command, _ = harness.gunicorn_command(rest_port, args.gunicorn_workers, args.gunicorn_threads)
    spin = rest.routes(args.bet, args.product)["spin"]
    daphne_ports = [harness.free_port() for _ in range(args.daphne)]
    with contextlib.ExitStack() as servers:
        servers.enter_context(
            harness.server_running("gunicorn", command, rest_port, work_dir / "sockets-rest.log")
        )
        for index, port in enumerate(daphne_ports):
            servers.enter_context(
                harness.server_running(
                    f"daphne {index + 1}",
                    harness.daphne_command(port)[0],
                    port,
                    work_dir / f"sockets-daphne-{index}.log",
                )
            )

        def start_load() -> harness.WrkRun:
            env = rest.wrk_env(
                spin, players, "spread", args.socket_load_connections, args.threads,
                "load-under-sockets",
            )  # fmt: skip
            # the load outlasts the grants: 1 s ahead, then the grants' window, then margin
            return harness.WrkRun(rest_port, spin.path, args.socket_seconds + 3, env)

        log(
            f"sockets: {count} to {args.daphne} daphne process(es); spin load at"
            f" {args.socket_load_connections} connections; {args.grant_rate} grants/s"
            f" for {args.socket_seconds} s"
        )
        result = asyncio.run(
            realtime_latency.measure(
                daphne_ports, rest_port, players.user_ids[:count], players.tokens[:count],
                players.staff_token, rate=args.grant_rate, seconds=args.socket_seconds,
                start_load=start_load,
            )
        )  # fmt: skip
    load = result.get("load") or {}
    if load:
        players.ok_responses["spin"] = players.ok_responses.get("spin", 0) + int(
            (load.get("statuses") or {}).get("200", 0)
        )
    found = []
    if result["sockets"] < count:
        found.append(f"{count - result['sockets']} sockets failed to connect")
    if result["delivered"] != result["expected"]:
        found.append(f"delivered {result['delivered']} of {result['expected']} messages")
    if result["grants_ok"] != result["grants_sent"]:
        found.append(f"grants answered {result['grant_statuses']}")
    if load and (load.get("errors") or load.get("non2xx")):
        found.append(f"spin load: {load.get('errors')} errors, {load.get('non2xx')} non-2xx")
    line = {
        **common,
        "kind": "realtime_latency",
        "bench": "realtime_latency",
        **result,
        "ok": not found,
        "flags": found,
    }
    harness.results_append("realtime_latency", [emit(line)])
    return line


def part_idle(
    args: argparse.Namespace, players: rest.Players, common: dict[str, Any], work_dir: Path
) -> dict[str, Any]:
    port = harness.free_port()
    command, description = harness.daphne_command(port)
    with harness.server_running("daphne", command, port, work_dir / "idle-daphne.log") as pid:
        rows = idle_sockets.measure(
            port, pid, players.tokens_path, args.idle_steps, args.idle_clients,
            args.idle_handshakes,
        )  # fmt: skip
    first_ok = bool(rows) and rows[0]["ok"]
    line = {
        **common,
        "kind": "idle_sockets",
        "bench": "idle_sockets",
        "server": description,
        "clients": args.idle_clients,
        "players": players.count,
        "steps": rows,
        "held_max": max((row["held"] for row in rows if row["ok"]), default=0),
        "ok": first_ok,
        "flags": [] if first_ok else ["the first step failed"],
    }
    harness.results_append("idle_sockets", [emit(line)])
    return line


def part_checks(players: rest.Players, common: dict[str, Any]) -> dict[str, Any]:
    ledger = harness.check_ledger()
    projections = harness.manage_check("check_projections")
    stored = rest.stored_counts(players)
    found = [] if ledger["ok"] else ["check_ledger failed"]
    if not projections["ok"]:
        found.append("check_projections failed")
    stores = {}
    for route, rows in stored.items():
        counted = players.ok_responses.get(route, 0)
        stores[route] = {"stored": rows, "ok_responses_counted": counted}
        # the store may hold up to one in-flight request per connection more than wrk counted
        if rows < counted:
            found.append(f"{route}: {rows} stored but {counted} answered 200 (lost writes)")
    line = {
        **common,
        "kind": "check_ledger",
        "target": "check_ledger",
        "ok": not found,
        "flags": found,
        "verdict": ("ledger OK" if ledger["ok"] else "LEDGER BROKEN")
        + (", projections OK" if projections["ok"] else ", PROJECTIONS DIFFER"),
        "stores": stores,
        "output": ledger["output"],
        "projections_output": projections["output"][-4000:],
    }
    harness.results_append("bench", [emit(line)])
    return line


# ---------------------------------------------------------------- output


def summary(
    reference: dict[str, dict[str, Any]],
    figures: list[dict[str, Any]],
    sockets: dict[str, Any] | None,
    idle: dict[str, Any] | None,
    checks: dict[str, Any] | None,
    rtp: dict[str, Any] | None,
    profiled: dict[str, Any] | None,
) -> str:
    parts = []
    if figures:
        header = ("figure", "rps", "p50 ms", "p99 ms", "x ceiling rps", "x ceiling p99",
                  "proj lag p50 s", "proj lag p99 s", "foreign cpu %", "flags")  # fmt: skip
        rows: list[tuple[str, ...]] = [header]
        for name in ("ceiling-spread", "ceiling-hot"):
            line = reference[name]
            rows.append(
                (f"reference spin {name.removeprefix('ceiling-')}-32", f"{line['rps']:.1f}",
                 f"{line['p50_ms']:.1f}", f"{line['p99_ms']:.1f}", "1.000", "1.00", "", "",
                 str(line.get("foreign_cpu_percent", "?")), "")
            )  # fmt: skip
        for line in figures:
            rows.append(
                (f"{line['route']} {line['target']} {line['label']}", f"{line['rps']:.1f}",
                 f"{line['p50_ms']:.1f}", f"{line['p99_ms']:.1f}",
                 f"{line['ratio_to_ceiling_rps']:.3f}", f"{line['ratio_to_ceiling_p99']:.2f}",
                 str((line.get("projection_lag") or {}).get("p50_s", "-")),
                 str((line.get("projection_lag") or {}).get("p99_s", "-")),
                 str(line["foreign_cpu_percent"]), "; ".join(line["flags"]) or "-")
            )  # fmt: skip
        parts.append(harness.table(rows))
        split_parts = ("web", "postgres", "workers", "redis", "daphne", "wrk", "other")
        split: list[tuple[str, ...]] = [("CPU ms per request", *split_parts, "total")]
        for line in figures:
            per_request = line.get("cpu_ms_per_request") or {}
            split.append(
                (f"{line['route']} {line['target']} {line['label']}",
                 *(f"{per_request.get(part, 0):.2f}" for part in split_parts),
                 f"{sum(per_request.values()):.2f}")
            )  # fmt: skip
        parts.append(harness.table(split))
        parts.append(
            "CPU ms per request: the CPU time of each of our processes during the figure (sampled"
            " once a second from /proc, by process: the REST server, PostgreSQL, the Celery"
            " workers applying projections, Redis, daphne, wrk, the rest) over its requests."
        )
        parts.append(
            "x ceiling: against the reference's slot spin at 32 connections (spread, or hot for"
            " hot); the reference implements only the spin. proj lag: the worst projection's lag"
            " (projection_lag_seconds) sampled every 0.25 s during the run, one Celery worker"
            " per projection partition applying the log."
        )
    if sockets:
        latency, spin_latency, load = (
            sockets["latency_ms"], sockets["spin_messages_latency_ms"], sockets.get("load") or {}
        )  # fmt: skip
        parts.append(
            f"sockets: {sockets['sockets']} on {sockets['daphne_processes']} daphne;"
            f" commit -> receive p50 {latency['p50']} ms, p99 {latency['p99']} ms"
            f" ({sockets['delivered']}/{sockets['expected']} grant messages);"
            f" spin messages p50 {spin_latency['p50']} ms, p99 {spin_latency['p99']} ms"
            f" ({spin_latency['count']}); spin load {load.get('rps')} rps,"
            f" p99 {load.get('p99_ms')} ms; {'; '.join(sockets['flags']) or 'ok'}"
        )
    if idle:
        idle_header = ("idle sockets step", "held", "failed", "retries", "daphne RSS MiB",
                       "KiB/socket", "fds")  # fmt: skip
        idle_rows: list[tuple[str, ...]] = [idle_header]
        for row in idle["steps"]:
            idle_rows.append(
                (str(row["step"]), str(row["held"]), str(row["failed"]),
                 str(row["handshake_retries"]),
                 str(row["daphne_rss_mib"]), str(row["kib_per_socket"]),
                 str(row["daphne_open_fds"]))
            )  # fmt: skip
        parts.append(harness.table(idle_rows))
    if checks:
        stores = ", ".join(
            f"{route} stored {value['stored']} / 200s {value['ok_responses_counted']}"
            for route, value in checks["stores"].items()
        )
        first = (checks["output"].splitlines() or [""])[0]
        parts.append(f"check_ledger: {checks['verdict']} ({first}); {stores}")
    if rtp:
        parts.append(
            f"simulate_rtp: {rtp['rounds']:,} rounds in {rtp['wall_seconds']} s"
            f" ({rtp['rounds_per_second']:,} rounds/s){'' if rtp['ok'] else ' FAILED'}"
        )
    if profiled:
        parts.append(
            f"profile: {profiled['spins']} spins in-process, queries/spin p50"
            f" {profiled['queries_per_spin']['p50']}, ms/spin p50 {profiled['ms_per_spin']['p50']}"
        )
    return "\n\n".join(parts)


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, harness.raise_stop)
    signal.signal(signal.SIGALRM, harness.raise_stop)
    signal.alarm(args.deadline)
    files_limit = harness.raise_open_files_limit()
    started = time.monotonic()
    run_id = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(2)}"
    busy = harness.cpu_busy_percent()
    FOREIGN.start()
    common: dict[str, Any] = {"run": run_id, "at": harness.now_iso(), "cpu_busy_at_start": busy}
    if busy > 15:
        log(f"WARNING: the machine is {busy}% busy before the benchmark starts: figures run low")
    reference: dict[str, dict[str, Any]] = {}
    figures: list[dict[str, Any]] = []
    sockets = idle = checks = rtp = profiled = None
    try:
        if "rest" in args.parts:
            if args.skip_reference:
                reference_run_id, reference_lines = harness.reference_last()
                log(f"reference: reusing run {reference_run_id} from {harness.RESULTS_DIR}")
            else:
                remaining = args.deadline - (time.monotonic() - started)
                reference_lines = [
                    {**common, "bench": "spin", "kind": "reference", **line}
                    for line in harness.reference_run(timeout=max(30.0, remaining - 600))
                ]
                reference_run_id = run_id
                harness.results_append("spin", [emit(line) for line in reference_lines])
            reference = {line["figure"]: line for line in reference_lines}
            common["reference_run"] = reference_run_id
        common.update(
            players=args.players,
            duration_s=args.seconds,
            pg_fsync=not args.pg_fsync_off,
            open_files_limit=files_limit,
        )
        emit(
            {
                **common,
                "kind": "settings",
                "bench_server_env": harness.BENCH_SERVER_ENV,
                "note": "bench servers only: login and purchase throttles raised for one client"
                " address; login lockout untouched (every bench login succeeds)",
            }
        )
        with (
            tempfile.TemporaryDirectory(prefix="casinoclub-bench-") as work,
            harness.bench_services(fsync=not args.pg_fsync_off) as urls,
        ):
            os.environ.update(urls)
            work_dir = Path(work)
            players = rest.prepare(args.players, work_dir)
            if "rest" in args.parts:
                figures = part_rest(args, players, reference, common, work_dir)
            if "sockets" in args.parts:
                sockets = part_sockets(args, players, common, work_dir)
            if "idle" in args.parts:
                idle = part_idle(args, players, common, work_dir)
            if args.profile_spins:
                from bench import profile_spin

                profiled = profile_spin.profile(
                    players, args.profile_spins, args.bet, with_cprofile=args.cprofile
                )
                top = profiled.pop("cprofile_top", None)
                harness.results_append("profile_spin", [emit({**common, **profiled})])
                if top:
                    print(top, flush=True)
                # in-process spins count as answered spins for the store check
                players.ok_responses["spin"] = (
                    players.ok_responses.get("spin", 0)
                    + int(profiled["statuses"].get("200", 0))
                    + 5  # its warm-up
                )
            checks = part_checks(players, common)
        if "rtp" in args.parts:
            log(f"simulate_rtp: {args.rtp_rounds:,} slot rounds")
            rtp = {**common, "kind": "simulate_rtp", **simulate_rtp_speed.command_wall_time(
                args.rtp_rounds
            )}  # fmt: skip
            harness.results_append("simulate_rtp", [emit(rtp)])
    except harness.Stop as stop:
        log(f"stopped by {stop}; every process started here has been stopped")
        return 130
    except RuntimeError as error:
        log(f"ERROR: {error}; every process started here has been stopped")
        return 1
    finally:
        signal.alarm(0)
        FOREIGN.stop()

    print()
    print(summary(reference, figures, sockets, idle, checks, rtp, profiled))
    print(f"\nrun {run_id}; {time.monotonic() - started:.0f} s; results in {harness.RESULTS_DIR}")
    failed = [line for line in figures if not line["ok"]]
    failed += [part for part in (sockets, idle, checks, rtp, profiled) if part and not part["ok"]]
    for line in failed:
        name = " ".join(str(line.get(key)) for key in ("kind", "route", "label") if line.get(key))
        log(f"FLAGGED {name}: {line.get('flags') or line.get('error') or line.get('statuses')}")
    for line in figures:
        if (line.get("foreign_cpu_percent") or 0) > 10:
            log(
                f"WARNING: {line['route']} {line['label']} shared the machine with other work"
                f" ({line['foreign_cpu_percent']}% of the cores): compare it with care"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
