"""Idle authenticated sockets one daphne process holds, and its memory, in steps.

Part of ``make bench`` (``bench/run.py``). Steps (``--idle-steps``, default 1k, 2k, 5k, 10k
sockets): at each, the client processes open more sockets until together they hold the step's
count, then report how many are still open; the step prints the count, daphne's RSS (``VmRSS`` of
``/proc/<pid>/status``) and its open file descriptors. The first step that cannot be held (a
refused or failed handshake, or a socket the server closed) ends the series.

The clients are ``--idle-clients`` processes (asyncio + websockets), each connecting from its own
source address (127.0.0.2, 127.0.0.3, ...): one (source, destination) pair has about 28,000
ephemeral ports, and one process's event loop and file limit are spared. Sockets are spread over
the players (one token each, reused round-robin when there are more sockets than players).
Every process raises its open-file limit to the hard limit.

    python -m bench.idle_sockets --client PORT SOURCE TOKENS_FILE CONCURRENCY   # one client

A client is driven on stdin. At most 32 handshakes are in flight over all clients (``--idle-
handshakes``); a failed handshake is retried twice and the retries are counted per step.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from bench.harness import log, process_group_stop, raise_open_files_limit, rss_kib


def open_fds(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


# ---------------------------------------------------------------- one client process


async def client(port: int, source: str, tokens: list[str], concurrency: int) -> None:
    """Read ``open N`` / ``status`` lines on stdin; answer one JSON line each on stdout.

    At most ``concurrency`` handshakes at once: the series measures how many sockets daphne
    holds, not how many handshakes it finishes within its handshake timeout (5 s) in a burst.
    A failed handshake is retried twice after a second; the retries are reported."""
    import websockets

    sockets: list[Any] = []
    next_token = 0
    first_error = ""
    retries = 0
    semaphore = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()

    async def open_one(token: str) -> bool:
        nonlocal first_error, retries
        for attempt in range(3):
            async with semaphore:
                try:
                    ws = await websockets.connect(
                        f"ws://127.0.0.1:{port}/api/realtime/sync?token={token}",
                        local_addr=(source, 0),
                        open_timeout=60,
                        max_queue=4,
                    )
                    for _ in range(2):  # sync_connected, initial_state: authenticated, subscribed
                        await asyncio.wait_for(ws.recv(), 60)
                except (TimeoutError, OSError, websockets.WebSocketException) as error:
                    first_error = first_error or f"{type(error).__name__}: {error}"
                else:
                    sockets.append(ws)
                    return True
            if attempt < 2:
                retries += 1
                await asyncio.sleep(1)
        return False

    def held() -> int:
        return sum(1 for ws in sockets if ws.close_code is None)

    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        command, _, argument = line.strip().partition(" ")
        failed = 0
        if command == "open":
            count = int(argument)
            batch = [tokens[(next_token + index) % len(tokens)] for index in range(count)]
            next_token += count
            outcomes = await asyncio.gather(*(open_one(token) for token in batch))
            failed = outcomes.count(False)
        answer = {"held": held(), "failed": failed, "retries": retries, "error": first_error}
        print(json.dumps(answer), flush=True)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


# ---------------------------------------------------------------- the series


class Client:
    def __init__(self, port: int, source: str, tokens_path: Path, concurrency: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.idle_sockets", "--client", str(port), source,
             str(tokens_path), str(concurrency)],
            cwd=PROJECT_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )  # fmt: skip

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            return {"held": 0, "failed": 0, "retries": 0, "error": "client process ended"}
        return dict(json.loads(line))

    def stop(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(30)
        process_group_stop(self.process, grace=5)


def measure(
    port: int, pid: int, tokens_path: Path, steps: list[int], clients: int, handshakes: int = 32
) -> list[dict[str, Any]]:
    """Open idle sockets to the daphne process ``pid`` in ``steps``; one dict per step.
    ``handshakes``: at most this many handshakes in flight, over all clients."""
    rows = []
    concurrency = max(1, handshakes // clients)
    pool = [
        Client(port, f"127.0.0.{2 + index}", tokens_path, concurrency) for index in range(clients)
    ]
    try:
        held_total = 0
        baseline = rss_kib(pid)
        for step in steps:
            started = time.monotonic()
            more = step - held_total
            for index, each in enumerate(pool):  # split what is missing over the clients
                each.send(f"open {more // clients + (1 if index < more % clients else 0)}")
            opened = [each.answer() for each in pool]
            connect_seconds = time.monotonic() - started
            time.sleep(2)  # then ask again: a socket the server drops meanwhile is not held
            for each in pool:
                each.send("status")
            status = [each.answer() for each in pool]
            held_total = sum(answer["held"] for answer in status)
            failed = sum(answer["failed"] for answer in opened)
            retries = sum(answer["retries"] for answer in status)
            errors = sorted({answer["error"] for answer in opened + status if answer["error"]})
            rss = rss_kib(pid)
            row = {
                "step": step,
                "held": held_total,
                "failed": failed,
                "handshake_retries": retries,
                "ok": held_total >= step and not failed,
                "connect_seconds": round(connect_seconds, 1),
                "daphne_rss_mib": None if rss is None else round(rss / 1024, 1),
                "daphne_rss_baseline_mib": None if baseline is None else round(baseline / 1024, 1),
                "kib_per_socket": None
                if rss is None or baseline is None or not held_total
                else round((rss - baseline) / held_total, 1),
                "daphne_open_fds": open_fds(pid),
                "errors": errors[:3],
            }
            log(
                f"idle sockets: step {step}: held {held_total}, failed {failed},"
                f" daphne RSS {row['daphne_rss_mib']} MiB, {row['connect_seconds']} s"
            )
            rows.append(row)
            if not row["ok"]:
                break
    finally:
        for each in pool:
            each.stop()
    return rows


def main() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "--client":
        raise_open_files_limit()
        tokens = Path(sys.argv[4]).read_text().split()
        asyncio.run(client(int(sys.argv[2]), sys.argv[3], tokens, int(sys.argv[5])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
