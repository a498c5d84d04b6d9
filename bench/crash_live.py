"""The shared crash round with many watchers: broadcast delivery time and completeness.

    make bench-crash                     # 1,000 watching sockets, 200 bettors, 3 rounds
    .venv/bin/python bench/crash_live.py --watchers 50 --bettors 20 --rounds 1   # a quick check

A throw-away PostgreSQL + Redis (or ``DATABASE_URL``/``REDIS_URL``), ``migrate``, VIP players with
gold and tokens (``bench.rest.prepare``), a crash chain with the development salt, then: one
daphne process (the sockets), gunicorn (the bets and cash-outs), one ``run_crash_loop`` (betting
window ``--betting-seconds``, 4 s). Every watcher subscribes to the ``crash`` group. In each round
the bettors bet at once (half with an auto cash-out at 1.50x); once the round runs, the others
cash out together 0.5 s in.

Printed (one JSON line, appended to ``bench/results/crash_live.jsonl``):
- ``expected`` / ``delivered``: broadcast messages every watcher should have received (1 betting +
  one per accepted bet + 1 running + one per accepted cash-out + 1 busted, per round, times the
  watchers) / that arrived; ``missing_by_type`` when they differ;
- ``latency_ms`` p50/p99/max: from the message's ``timestamp`` (set in the transaction that made
  it, just before commit) to its arrival, on this machine's one clock (goal p99 <= 50 ms);
- ``phase_latency_ms``: the same for the betting/running/busted messages alone (not bursts);
- ``http_ms`` p50/p99 of the bets and cash-outs and their status counts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import http.client
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from bench import harness, rest
from bench.harness import emit, log, percentile
from bench.lean_socket import LeanSocket

PHASES = ("crash_betting", "crash_running", "crash_busted")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--bettors", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--betting-seconds", type=float, default=4.0)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers for the bets")
    parser.add_argument(
        "--daphne", type=int, default=1, help="socket processes (watchers spread over them)"
    )
    return parser.parse_args(argv)


CPU_ROLES = {  # command-line fragment of each role's processes
    "daphne": "daphne",
    "gunicorn": "gunicorn",
    "loop": "run_crash_loop",
    "postgres": "postgres",
    "redis": "redis-server",
}


def cpu_seconds() -> dict[str, float]:
    """CPU time (user + system) used so far by this machine's processes of each role, and by
    this process (the watchers and bettors)."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals = dict.fromkeys(CPU_ROLES, 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        for role, fragment in CPU_ROLES.items():
            if fragment in command:
                # with the children it reaped (PostgreSQL's ended backends)
                totals[role] += sum(int(value) for value in fields[11:15]) / ticks
                break
    totals["bench_client"] = time.process_time()
    return totals


def post(port: int, token: str, path: str, body: dict[str, Any]) -> tuple[int, float, dict]:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": f"bench-{secrets.token_hex(8)}",
    }
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, json.dumps(body), headers)
        response = connection.getresponse()
        payload = json.loads(response.read() or b"{}")
        status = response.status
    except (OSError, ValueError):
        status, payload = 0, {}
    finally:
        connection.close()
    return status, (time.perf_counter() - started) * 1000, payload


class Watchers:
    """The subscribed sockets; every broadcast's arrival is recorded per socket."""

    def __init__(self) -> None:
        self.sockets: list[LeanSocket] = []
        self.arrivals: list[list[tuple[str, int | None, float]]] = []
        self.phase_seen: dict[tuple[str, int], asyncio.Event] = {}
        self.last_round: dict[str, Any] = {}
        self.frames = 0  # crash frames received (a group_batch carries several broadcasts)

    def phase_event(self, phase: str, round_id: int | None = None) -> asyncio.Event:
        return self.phase_seen.setdefault((phase, round_id or 0), asyncio.Event())

    async def open(self, ports: list[int], tokens: list[str]) -> int:
        semaphore = asyncio.Semaphore(32)
        failed = 0

        async def open_one(index: int, token: str) -> None:
            nonlocal failed
            async with semaphore:
                try:
                    ws = await LeanSocket.connect(
                        ports[index % len(ports)], f"/api/realtime/sync?token={token}"
                    )
                    for _ in range(2):  # sync_connected, initial_state
                        await ws.recv()
                    ws.send_text(json.dumps({"type": "subscribe", "group": "crash"}))
                    while json.loads(await ws.recv())["type"] != "group_state":
                        pass
                except (TimeoutError, OSError):
                    failed += 1
                    return
            arrivals: list[tuple[str, int | None, float]] = []
            ws.on_text = functools.partial(self._read, arrivals)
            while not ws.queue.empty():  # a broadcast that came with the state
                self._read(arrivals, *ws.queue.get_nowait())
            self.sockets.append(ws)
            self.arrivals.append(arrivals)

        await asyncio.gather(*(open_one(i, t) for i, t in enumerate(tokens)))
        return failed

    def _read(
        self, arrivals: list[tuple[str, int | None, float]], text: str, arrived: float
    ) -> None:
        frame = json.loads(text)
        if frame.get("group") != "crash" or frame["type"] == "group_state":
            return
        self.frames += 1
        batch = frame["data"]["messages"] if frame["type"] == "group_batch" else [frame]
        for message in batch:
            sent = datetime.fromisoformat(message["timestamp"]).timestamp()
            data = message["data"]
            round_id = data["round"]["id"] if "round" in data else data.get("round_id")
            arrivals.append((message["type"], round_id, arrived - sent))
            if message["type"] in PHASES:
                self.phase_event(message["type"]).set()
                self.phase_event(message["type"], round_id).set()
                self.last_round = data["round"]

    async def close(self) -> None:
        for ws in self.sockets:
            ws.close()


async def play(
    args: argparse.Namespace, players: rest.Players, daphne: list[int], web: int
) -> dict:
    watchers = Watchers()
    log(f"crash bench: opening {args.watchers} watching sockets")
    failed = await watchers.open(daphne, players.tokens[: args.watchers])
    log(f"crash bench: {len(watchers.sockets)} subscribed, {failed} failed")
    bettors = players.tokens[: args.bettors]
    expected_per_socket = 0
    http_ms: list[float] = []
    statuses: Counter[str] = Counter()
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=64)
    measured: set[int] = set()
    cpu_before, wall_before = cpu_seconds(), time.monotonic()
    for number in range(args.rounds):
        watchers.phase_seen.pop(("crash_betting", 0), None)
        betting = watchers.phase_event("crash_betting")
        await asyncio.wait_for(betting.wait(), timeout=60)
        round_id = watchers.last_round["id"]
        measured.add(round_id)
        log(f"crash bench: round {round_id} ({number + 1}/{args.rounds}) takes bets")
        bets = await asyncio.gather(
            *(
                loop.run_in_executor(
                    pool,
                    post,
                    web,
                    token,
                    "/api/games/crash/bet",
                    {"bet": 10, **({"auto_cashout": 1.5} if index % 2 else {})},
                )
                for index, token in enumerate(bettors)
            )
        )
        placed = {index: body["round"]["id"] for index, (s, _, body) in enumerate(bets) if s == 200}
        statuses.update(
            f"bet {status} {body.get('error', {}).get('code', '')}".strip()
            for status, _, body in bets
        )
        http_ms += [elapsed for _, elapsed, _ in bets]
        await asyncio.wait_for(watchers.phase_event("crash_running", round_id).wait(), timeout=60)
        await asyncio.sleep(0.5)
        cashouts = await asyncio.gather(
            *(
                loop.run_in_executor(
                    pool,
                    post,
                    web,
                    bettors[index],
                    "/api/games/crash/cashout",
                    {"round_id": bet_id},
                )
                for index, bet_id in placed.items()
                if index % 2 == 0
            )
        )
        statuses.update(
            f"cashout {status} {body.get('error', {}).get('code', '')}".strip()
            for status, _, body in cashouts
        )
        http_ms += [elapsed for _, elapsed, _ in cashouts]
        await asyncio.wait_for(watchers.phase_event("crash_busted", round_id).wait(), timeout=600)
        expected_per_socket += 3 + len(placed) + sum(1 for s, _, _ in cashouts if s == 200)
    await asyncio.sleep(2)  # the last messages in flight
    cpu_after, wall = cpu_seconds(), time.monotonic() - wall_before
    pool.shutdown()
    # only the measured rounds: the sockets also see the round running when they opened
    counted = [
        [(kind, delay) for kind, round_id, delay in arrivals if round_id in measured]
        for arrivals in watchers.arrivals
    ]
    latencies = [delay * 1000 for arrivals in counted for _, delay in arrivals]
    # the phase messages come one at a time; bets and cash-outs come in bursts of a round's
    # bettors, each to every watcher (the client's one event loop reads them in turn too)
    phase_latencies = [
        delay * 1000 for arrivals in counted for kind, delay in arrivals if kind in PHASES
    ]
    delivered = sum(len(arrivals) for arrivals in counted)
    by_type = Counter(kind for arrivals in counted for kind, _ in arrivals)
    await watchers.close()
    return {
        "watchers": len(watchers.sockets),
        "daphne_processes": len(daphne),
        "failed_connects": failed,
        "bettors": len(bettors),
        "rounds": args.rounds,
        "expected": expected_per_socket * len(watchers.sockets),
        "delivered": delivered,
        "delivered_by_type": dict(by_type),
        "frames_per_watcher": round(watchers.frames / max(1, len(watchers.sockets)), 1),
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50), 1),
            "p99": round(percentile(latencies, 0.99), 1),
            "max": round(max(latencies, default=float("nan")), 1),
        },
        "phase_latency_ms": {
            "p50": round(percentile(phase_latencies, 0.50), 1),
            "p99": round(percentile(phase_latencies, 0.99), 1),
        },
        "http_ms": {  # null without bettors
            "p50": round(percentile(http_ms, 0.50), 1) if http_ms else None,
            "p99": round(percentile(http_ms, 0.99), 1) if http_ms else None,
        },
        "http_statuses": dict(statuses),
        # CPU seconds per role while the rounds ran, beside the wall seconds (2 cores here)
        "cpu_s": {role: round(cpu_after[role] - cpu_before[role], 1) for role in cpu_after},
        "wall_s": round(wall, 1),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    harness.raise_open_files_limit()
    os.environ["CRASH_BETTING_SECONDS"] = str(args.betting_seconds)
    common = {
        "bench": "crash_live",
        "at": harness.now_iso(),
        "cpu_busy_at_start": harness.cpu_busy_percent(),
    }
    with (
        tempfile.TemporaryDirectory(prefix="casinoclub-bench-") as work,
        harness.bench_services(fsync=True) as urls,
    ):
        os.environ.update(urls)
        work_dir = Path(work)
        players = rest.prepare(max(args.watchers, args.bettors), work_dir)
        from games import services
        from games.models import GameConfig

        crash = services.game_config_current("crash")
        GameConfig.objects.filter(pk=crash.pk).update(
            daily_limits={rank: 0 for rank in crash.daily_limits}
        )
        chain = services.crash_chain_create(10 * args.rounds + 10)
        services.crash_chain_salt_set(chain.pk, "0" * 63 + "1", "development salt (bench)")
        daphne_ports = [harness.free_port() for _ in range(args.daphne)]
        web_port = harness.free_port()
        web_cmd, _ = harness.gunicorn_command(web_port, args.workers, 1)
        with contextlib.ExitStack() as servers:
            for number, port in enumerate(daphne_ports):
                servers.enter_context(
                    harness.server_running(
                        "daphne", harness.daphne_command(port)[0], port,
                        work_dir / f"daphne-{number}.log",
                    )
                )  # fmt: skip
            servers.enter_context(
                harness.server_running("gunicorn", web_cmd, web_port, work_dir / "web.log")
            )
            loop_process = subprocess.Popen(
                [sys.executable, "manage.py", "run_crash_loop"],
                cwd=PROJECT_DIR,
                env=os.environ.copy(),
                stdout=(work_dir / "loop.log").open("ab"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                result = asyncio.run(play(args, players, daphne_ports, web_port))
            finally:
                harness.process_group_stop(loop_process, grace=10)
        ledger = harness.check_ledger()
    line = emit({**common, **result, "check_ledger": ledger})
    harness.results_append("crash_live", [line])
    complete = line["delivered"] == line["expected"]
    log(
        f"crash bench: delivered {line['delivered']}/{line['expected']}"
        f" ({'all' if complete else 'MISSING SOME'}), latency p50 {line['latency_ms']['p50']} ms,"
        f" p99 {line['latency_ms']['p99']} ms (goal <= 50)"
    )
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
