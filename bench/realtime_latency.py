"""Socket delivery under a steady stream of gold changes made through the HTTP API.

    make bench-realtime                      # 500 sockets, 50 grants/s for 20 s
    python scripts/devstack.py exec --ephemeral -- .venv/bin/python bench/realtime_latency.py \
        --sockets 500 --rate 50 --seconds 20

It migrates a database, creates the players and one staff member, starts daphne (the production
ASGI app, DEBUG off), opens one socket per player, then POSTs staff gold grants
(``/api/admin/users/{id}/gold``, idempotent) at a fixed rate to random players. Each grant commits a
ledger entry that stores ``profile_update`` + ``reward_granted`` for that player.

Printed (one JSON line, also appended to ``bench/results/realtime_latency.jsonl``):
- ``expected`` / ``delivered``: socket messages the committed grants should produce / that arrived;
- ``latency_ms`` p50/p99/max: from the message's ``timestamp`` (written in the grant's transaction,
  just before commit) to its arrival at the client, on this machine's one clock;
- ``http_ms`` p50/p99 of the grant requests and the achieved grant rate.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
RESULTS = PROJECT_DIR / "bench" / "results" / "realtime_latency.jsonl"
sys.path.insert(0, str(PROJECT_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casinoclub.settings.local")
os.environ["DJANGO_DEBUG"] = "false"
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("THROTTLE_LOGIN", "100000/min")


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(players: int) -> tuple[list[int], list[str], str]:
    """Migrate, create players + staff; return player ids, their access tokens, a staff token."""
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from accounts.models import User, Wallet
    from accounts.tokens import token_pair_for_user

    call_command("migrate", "--no-input", verbosity=0)
    run = secrets.token_hex(3)
    password = make_password(secrets.token_urlsafe(12))
    users = User.objects.bulk_create(
        User(
            site_id=f"bench{run}_{index:05d}",
            nickname=f"B{run}{index:05d}",
            phone_number=f"+9{int(run, 16) % 10**6:06d}{index:05d}",
            password=password,
        )
        for index in range(players)
    )
    Wallet.objects.bulk_create(Wallet(user=user) for user in users)
    staff = User.objects.create_user(
        f"benchstaff{run}", f"Staff{run}", f"+8{int(run, 16) % 10**8:08d}", is_staff=True
    )
    tokens = [token_pair_for_user(user)["access"] for user in users]
    return [user.pk for user in users], tokens, token_pair_for_user(staff)["access"]


def start_daphne(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "casinoclub.asgi:application"],
        cwd=PROJECT_DIR,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("daphne did not start")


def grant(port: int, staff_token: str, user_id: int) -> tuple[int, float, int | None]:
    body = json.dumps({"amount": 1, "reason": "benchmark"})
    headers = {
        "Authorization": f"Bearer {staff_token}",
        "Content-Type": "application/json",
        "Idempotency-Key": f"bench-{secrets.token_hex(8)}",
    }
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", f"/api/admin/users/{user_id}/gold", body, headers)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    elapsed = (time.perf_counter() - started) * 1000
    entry_id = json.loads(payload)["id"] if response.status == 200 else None
    return response.status, elapsed, entry_id


async def run(
    args: argparse.Namespace, user_ids: list[int], tokens: list[str], staff_token: str
) -> dict[str, object]:
    import websockets

    port = free_port()
    daphne = start_daphne(port)
    received: dict[tuple[int, str], float] = {}  # (ledger entry, type) -> latency ms
    sockets = []
    try:
        semaphore = asyncio.Semaphore(50)

        async def open_one(token: str):  # type: ignore[no-untyped-def]
            async with semaphore:
                ws = await websockets.connect(
                    f"ws://127.0.0.1:{port}/api/realtime/sync?token={token}", max_queue=None
                )
                for _ in range(2):  # sync_connected, initial_state
                    await ws.recv()
                return ws

        connect_started = time.perf_counter()
        sockets = await asyncio.gather(*(open_one(token) for token in tokens))
        connect_seconds = time.perf_counter() - connect_started

        async def listen(ws) -> None:  # type: ignore[no-untyped-def]
            async for raw in ws:
                arrived = time.time()
                message = json.loads(raw)
                if message["type"] in ("profile_update", "reward_granted"):
                    sent = datetime.fromisoformat(message["timestamp"]).timestamp()
                    key = (message["data"]["ledger_entry_id"], message["type"])
                    received[key] = (arrived - sent) * 1000

        listeners = [asyncio.create_task(listen(ws)) for ws in sockets]
        loop = asyncio.get_running_loop()
        pool = ThreadPoolExecutor(max_workers=16)
        futures = []
        interval = 1 / args.rate
        started = time.perf_counter()
        total = int(args.rate * args.seconds)
        for index in range(total):
            target = started + index * interval
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            user_id = user_ids[secrets.randbelow(len(user_ids))]
            futures.append(loop.run_in_executor(pool, grant, port, staff_token, user_id))
        results = await asyncio.gather(*futures)
        produce_seconds = time.perf_counter() - started
        committed = [entry for status, _, entry in results if status == 200 and entry is not None]
        expected = {
            (entry, kind) for entry in committed for kind in ("profile_update", "reward_granted")
        }
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not expected <= received.keys():
            await asyncio.sleep(0.1)
        for task in listeners:
            task.cancel()
        pool.shutdown()
    finally:
        for ws in sockets:
            await ws.close()
        daphne.terminate()
        daphne.wait(10)

    latencies = [received[key] for key in expected if key in received]
    http_ms = [elapsed for _, elapsed, _ in results]
    return {
        "bench": "realtime_latency",
        "sockets": len(sockets),
        "connect_seconds": round(connect_seconds, 2),
        "grants_sent": total,
        "grants_ok": len(committed),
        "grant_rate_per_s": round(total / produce_seconds, 1),
        "expected": len(expected),
        "delivered": len(latencies),
        "duplicates_or_strays": len(received) - len(latencies),
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50), 1),
            "p99": round(percentile(latencies, 0.99), 1),
            "max": round(max(latencies, default=float("nan")), 1),
            "mean": round(statistics.fmean(latencies), 1) if latencies else None,
        },
        "http_ms": {
            "p50": round(percentile(http_ms, 0.5), 1),
            "p99": round(percentile(http_ms, 0.99), 1),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0, help="grants per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    user_ids, tokens, staff_token = prepare(args.sockets)
    result = asyncio.run(run(args, user_ids, tokens, staff_token))
    line = json.dumps(result)
    print(line, flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as results_file:
        results_file.write(line + "\n")
    return 0 if result["delivered"] == result["expected"] else 1


if __name__ == "__main__":
    sys.exit(main())
