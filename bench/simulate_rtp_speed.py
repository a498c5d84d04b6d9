"""Slot simulation throughput (a figure, not an assertion).

    .venv/bin/python bench/simulate_rtp_speed.py [--rounds 1000000] [--game slot]

Runs ``games.engine.simulate`` (the code behind ``manage.py simulate_rtp``) with the default
configuration and prints rounds per second, the simulated RTP and its distance from the exact RTP
as one JSON line. Also times the per-round API (``slot_spin`` with a fresh ``FairRng`` per round)
on a tenth of the rounds, for comparison. No database or Django needed.

``make bench`` uses ``command_wall_time``: the wall time of the command itself,
``manage.py simulate_rtp slot --rounds 10000000 --default-config`` (Django start, simulation,
histogram and its PNG), one process, as an operator runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from games.engine import (
    DEFAULT_CONFIGS,
    DEFAULT_SLOT_CONFIG,
    GAMES,
    FairRng,
    exact_odds,
    simulate,
    slot_spin,
)


def command_wall_time(rounds: int, game: str = "slot") -> dict[str, Any]:
    """Run ``manage.py simulate_rtp`` once and time it from start to exit."""
    project_dir = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="casinoclub-rtp-") as work:
        command = [
            sys.executable, "manage.py", "simulate_rtp", game, "--rounds", str(rounds),
            "--default-config", "--png", str(Path(work, f"simulate_rtp_{game}.png")),
        ]  # fmt: skip
        started = time.perf_counter()
        completed = subprocess.run(
            command,
            cwd=project_dir,
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        seconds = time.perf_counter() - started
    lines = [line.strip() for line in completed.stdout.splitlines() if "RTP" in line]
    return {
        "bench": "simulate_rtp",
        "command": f"manage.py simulate_rtp {game} --rounds {rounds} --default-config",
        "game": game,
        "rounds": rounds,
        "ok": completed.returncode == 0,
        "wall_seconds": round(seconds, 2),
        "rounds_per_second": round(rounds / seconds),
        "rtp_lines": lines[:3],
        "error": "" if completed.returncode == 0 else completed.stderr[-2000:],
        "python": platform.python_version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=1_000_000)
    parser.add_argument("--game", choices=GAMES, default="slot")
    args = parser.parse_args()
    config = DEFAULT_CONFIGS[args.game]
    seed = b"bench-simulate-rtp"

    started = time.perf_counter()
    result = simulate(args.game, config, args.rounds, seed)
    seconds = time.perf_counter() - started
    exact = float(exact_odds(args.game, config).rtp)

    report: dict[str, object] = {
        "bench": "simulate_rtp_speed",
        "game": args.game,
        "rounds": args.rounds,
        "seconds": round(seconds, 3),
        "rounds_per_second": round(args.rounds / seconds),
        "simulated_rtp": round(result.rtp, 6),
        "exact_rtp": round(exact, 6),
        "standard_errors_off": round((result.rtp - exact) / result.standard_error, 2),
        "python": platform.python_version(),
    }
    if args.game == "slot":
        per_round = max(1, args.rounds // 10)
        started = time.perf_counter()
        for nonce in range(per_round):
            slot_spin(DEFAULT_SLOT_CONFIG, FairRng(seed, "simulate", nonce))
        report["slot_spin_rounds_per_second"] = round(per_round / (time.perf_counter() - started))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
