"""Socket delivery (commit -> receive) with many connected sockets while the slot spin load runs.

Part of ``make bench`` (``bench/run.py``; ``make bench-realtime`` runs only this part). It opens
one socket per player (``--sockets``, default 1,000) spread over the daphne processes (``--daphne``,
default 1, as the ``daphne`` service of docker-compose.yml), starts the slot spin load with wrk on
gunicorn (spread, ``--socket-load-connections``) and meanwhile POSTs staff gold grants
(``/api/admin/users/{id}/gold``, idempotent, through gunicorn) at a fixed rate to random
connected players. Each grant commits a ledger entry that stores ``profile_update`` +
``reward_granted`` for that player.

Printed (one JSON line, appended to ``bench/results/realtime_latency.jsonl``):
- ``expected`` / ``delivered``: socket messages the committed grants should produce / that arrived;
- ``latency_ms`` p50/p99/max: from the message's ``timestamp`` (written in the grant's transaction,
  just before commit) to its arrival at the client, on this machine's one clock;
- ``spin_messages_latency_ms``: the same for the messages the spin load produced for connected
  players (no expected count: wrk picks players at random);
- ``http_ms`` p50/p99 of the grant requests and the achieved grant rate;
- ``load``: the spin figure wrk measured meanwhile (rps, p50/p99, errors, non-2xx).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import secrets
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from bench.harness import WrkRun, log, percentile


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
    except OSError:
        return 0, (time.perf_counter() - started) * 1000, None
    finally:
        connection.close()
    elapsed = (time.perf_counter() - started) * 1000
    entry_id = json.loads(payload)["id"] if response.status == 200 else None
    return response.status, elapsed, entry_id


def _summary(latencies: list[float]) -> dict[str, float | None]:
    return {
        "count": len(latencies),
        "p50": round(percentile(latencies, 0.50), 1),
        "p99": round(percentile(latencies, 0.99), 1),
        "max": round(max(latencies, default=float("nan")), 1),
        "mean": round(statistics.fmean(latencies), 1) if latencies else None,
    }


async def measure(
    daphne_ports: list[int],
    rest_port: int,
    user_ids: list[int],
    tokens: list[str],
    staff_token: str,
    *,
    rate: float,
    seconds: float,
    start_load: Callable[[], WrkRun] | None,
) -> dict[str, Any]:
    """Connect one socket per (user id, token), run the load and the grants, count deliveries."""
    import websockets

    arrivals: list[tuple[int | None, str, float]] = []  # (ledger entry, type, latency ms)
    sockets: list[Any] = []
    failed_connects = 0
    semaphore = asyncio.Semaphore(50)

    async def open_one(index: int, token: str) -> Any:
        nonlocal failed_connects
        port = daphne_ports[index % len(daphne_ports)]
        async with semaphore:
            try:
                ws = await websockets.connect(
                    f"ws://127.0.0.1:{port}/api/realtime/sync?token={token}",
                    max_queue=None,
                    open_timeout=60,
                )
                for _ in range(2):  # sync_connected, initial_state
                    await ws.recv()
            except (TimeoutError, OSError, websockets.WebSocketException):
                failed_connects += 1
                return None
            return ws

    grant_ids: set[int] = set()
    kinds = ("profile_update", "reward_granted")

    def grant_arrivals() -> dict[tuple[int, str], float]:
        return {
            (entry, kind): latency
            for entry, kind, latency in arrivals
            if entry in grant_ids and kind in kinds
        }

    async def listen(ws: Any) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                arrived = time.time()
                message = json.loads(raw)
                if "timestamp" in message:
                    sent = datetime.fromisoformat(message["timestamp"]).timestamp()
                    entry = (message.get("data") or {}).get("ledger_entry_id")
                    arrivals.append((entry, message["type"], (arrived - sent) * 1000))

    connect_started = time.perf_counter()
    opened = await asyncio.gather(*(open_one(index, token) for index, token in enumerate(tokens)))
    sockets = [ws for ws in opened if ws is not None]
    connected_ids = [user_id for user_id, ws in zip(user_ids, opened, strict=True) if ws]
    connect_seconds = time.perf_counter() - connect_started
    log(f"sockets: {len(sockets)} connected in {connect_seconds:.1f} s ({failed_connects} failed)")
    listeners = [asyncio.create_task(listen(ws)) for ws in sockets]
    loop = asyncio.get_running_loop()
    load = start_load() if start_load else None
    results: list[tuple[int, float, int | None]] = []
    load_figure: dict[str, Any] | None = None
    expected: set[tuple[int, str]] = set()
    still_open = 0
    try:
        await asyncio.sleep(1.0 if load else 0)  # the load reaches its pace before we sample
        pool = ThreadPoolExecutor(max_workers=16)
        futures = []
        interval = 1 / rate
        started = time.perf_counter()
        total = int(rate * seconds)
        for index in range(total):
            delay = started + index * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            user_id = connected_ids[secrets.randbelow(len(connected_ids))] if connected_ids else 0
            futures.append(loop.run_in_executor(pool, grant, rest_port, staff_token, user_id))
        results = list(await asyncio.gather(*futures))
        produce_seconds = time.perf_counter() - started
        pool.shutdown()
        grant_ids.update(entry for status, _, entry in results if status == 200 and entry)
        load_figure = await loop.run_in_executor(None, load.result) if load else None
        expected = {(entry, kind) for entry in grant_ids for kind in kinds}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not expected <= grant_arrivals().keys():
            await asyncio.sleep(0.1)
        still_open = sum(1 for task in listeners if not task.done())
    finally:
        for task in listeners:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        if load and load.process.returncode is None:
            load.result()

    received = grant_arrivals()
    latencies = [received[key] for key in expected if key in received]
    spin_latencies = [
        latency for entry, kind, latency in arrivals if not (entry in grant_ids and kind in kinds)
    ]
    http_ms = [elapsed for _, elapsed, _ in results]
    statuses: dict[str, int] = {}
    for status, _, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "sockets": len(sockets),
        "sockets_failed": failed_connects,
        "sockets_open_at_end": still_open,
        "daphne_processes": len(daphne_ports),
        "connect_seconds": round(connect_seconds, 2),
        "grants_sent": len(results),
        "grants_ok": len(grant_ids),
        "grant_statuses": statuses,
        "grant_rate_per_s": round(len(results) / max(produce_seconds, 1e-3), 1),
        "expected": len(expected),
        "delivered": len(latencies),
        "latency_ms": _summary(latencies),
        "spin_messages_latency_ms": _summary(spin_latencies),
        "http_ms": {
            "p50": round(percentile(http_ms, 0.5), 1),
            "p99": round(percentile(http_ms, 0.99), 1),
        },
        "load": None
        if load_figure is None
        else {
            key: load_figure.get(key)
            for key in ("rps", "p50_ms", "p99_ms", "errors", "non2xx", "statuses", "requests")
        },
    }
