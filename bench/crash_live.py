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

PHASES = ("crash_betting", "crash_running", "crash_busted")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--bettors", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--betting-seconds", type=float, default=4.0)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers for the bets")
    return parser.parse_args(argv)


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
        self.sockets: list[Any] = []
        self.arrivals: list[list[tuple[str, int | None, float]]] = []
        self.phase_seen: dict[tuple[str, int], asyncio.Event] = {}
        self.readers: list[asyncio.Task[None]] = []
        self.last_round: dict[str, Any] = {}

    def phase_event(self, phase: str, round_id: int | None = None) -> asyncio.Event:
        return self.phase_seen.setdefault((phase, round_id or 0), asyncio.Event())

    async def open(self, port: int, tokens: list[str]) -> int:
        import websockets

        semaphore = asyncio.Semaphore(32)
        failed = 0

        async def open_one(index: int, token: str) -> None:
            nonlocal failed
            async with semaphore:
                try:
                    ws = await websockets.connect(
                        f"ws://127.0.0.1:{port}/api/realtime/sync?token={token}",
                        max_queue=None,
                        open_timeout=60,
                    )
                    for _ in range(2):  # sync_connected, initial_state
                        await ws.recv()
                    await ws.send(json.dumps({"type": "subscribe", "group": "crash"}))
                    while json.loads(await ws.recv())["type"] != "group_state":
                        pass
                except (TimeoutError, OSError, websockets.WebSocketException):
                    failed += 1
                    return
            self.sockets.append(ws)
            self.arrivals.append([])
            self.readers.append(asyncio.create_task(self._read(ws, self.arrivals[-1])))

        await asyncio.gather(*(open_one(i, t) for i, t in enumerate(tokens)))
        return failed

    async def _read(self, ws: Any, arrivals: list[tuple[str, int | None, float]]) -> None:
        import websockets

        try:
            async for raw in ws:
                arrived = time.time()
                message = json.loads(raw)
                if message.get("group") != "crash" or message["type"] == "group_state":
                    continue
                sent = datetime.fromisoformat(message["timestamp"]).timestamp()
                data = message["data"]
                round_id = data["round"]["id"] if "round" in data else data.get("round_id")
                arrivals.append((message["type"], round_id, arrived - sent))
                if message["type"] in PHASES:
                    round_id = message["data"]["round"]["id"]
                    self.phase_event(message["type"]).set()
                    self.phase_event(message["type"], round_id).set()
                    self.last_round = message["data"]["round"]
        except websockets.WebSocketException:
            return

    async def close(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


async def play(args: argparse.Namespace, players: rest.Players, daphne: int, web: int) -> dict:
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
        statuses.update(f"bet {status}" for status, _, _ in bets)
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
        statuses.update(f"cashout {status}" for status, _, _ in cashouts)
        http_ms += [elapsed for _, elapsed, _ in cashouts]
        await asyncio.wait_for(watchers.phase_event("crash_busted", round_id).wait(), timeout=600)
        expected_per_socket += 3 + len(placed) + sum(1 for s, _, _ in cashouts if s == 200)
    await asyncio.sleep(2)  # the last messages in flight
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
        "failed_connects": failed,
        "bettors": len(bettors),
        "rounds": args.rounds,
        "expected": expected_per_socket * len(watchers.sockets),
        "delivered": delivered,
        "delivered_by_type": dict(by_type),
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50), 1),
            "p99": round(percentile(latencies, 0.99), 1),
            "max": round(max(latencies, default=float("nan")), 1),
        },
        "phase_latency_ms": {
            "p50": round(percentile(phase_latencies, 0.50), 1),
            "p99": round(percentile(phase_latencies, 0.99), 1),
        },
        "http_ms": {
            "p50": round(percentile(http_ms, 0.50), 1),
            "p99": round(percentile(http_ms, 0.99), 1),
        },
        "http_statuses": dict(statuses),
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
        daphne_port, web_port = harness.free_port(), harness.free_port()
        daphne_cmd, _ = harness.daphne_command(daphne_port)
        web_cmd, _ = harness.gunicorn_command(web_port, args.workers, 1)
        with (
            harness.server_running("daphne", daphne_cmd, daphne_port, work_dir / "daphne.log"),
            harness.server_running("gunicorn", web_cmd, web_port, work_dir / "web.log"),
        ):
            loop_process = subprocess.Popen(
                [sys.executable, "manage.py", "run_crash_loop"],
                cwd=PROJECT_DIR,
                env=os.environ.copy(),
                stdout=(work_dir / "loop.log").open("ab"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                result = asyncio.run(play(args, players, daphne_port, web_port))
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
