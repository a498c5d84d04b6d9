"""Slot simulation throughput through the engine (a figure, not an assertion).

    .venv/bin/python bench/simulate_rtp_speed.py [--rounds 1000000] [--game slot]

Runs ``games.engine.simulate`` (the code behind ``manage.py simulate_rtp``) with the default
configuration and prints rounds per second, the simulated RTP and its distance from the exact RTP
as one JSON line. Also times the per-round API (``slot_spin`` with a fresh ``FairRng`` per round)
on a tenth of the rounds, for comparison. No database or Django needed.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

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
