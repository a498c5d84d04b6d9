"""Monte Carlo RTP check: play N rounds through the fair stream and compare with the exact odds.

Rounds use a fixed server seed, client seed ``SIMULATION_CLIENT_SEED`` and nonces 0..N-1, so a
simulation is reproducible. Slot rounds take a fast path that reads the same HMAC bytes as
``slot_spin`` (bit-identical; any rejected uint32 falls back to ``slot_spin`` itself).
"""

from __future__ import annotations

import hmac
import math
import struct
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, TypeVar

from games.engine.crash import (
    DEFAULT_CASHOUT_TARGET_X100,
    CrashConfig,
    crash_odds,
    crash_point_x100,
    crash_settle,
)
from games.engine.fair import UINT32_RANGE, FairRng
from games.engine.gacha import GachaConfig, gacha_odds, gacha_pull
from games.engine.odds import Odds, apply_multiplier
from games.engine.rps import CHOICES, RpsConfig, rps_odds, rps_play
from games.engine.slot import SlotConfig, slot_multiplier_x100, slot_odds, slot_spin

SIMULATION_CLIENT_SEED = "simulate"
SIMULATION_STAKE = 100
PROGRESS_EVERY = 10_000
_LOOKUP_TABLE_LIMIT = 1 << 20

Progress = Callable[[int], None]


@dataclass(frozen=True)
class SimulationResult:
    """``histogram`` maps multiplier_x100 → rounds. Returns are per unit staked; ``standard_error``
    is that of the mean per-round return (the simulated RTP)."""

    game: str
    rounds: int
    stake: int
    total_staked: int
    total_returned: int
    rtp: float
    hit_rate: float
    max_win_multiplier_x100: int
    standard_error: float
    histogram: dict[int, int]


def _result(
    game: str, stake: int, returns: Counter[int], multipliers: Counter[int]
) -> SimulationResult:
    """Summarise per-round gold returns (value → rounds) and multipliers (x100 → rounds)."""
    rounds = sum(returns.values())
    if rounds == 0:
        raise ValueError("rounds must be positive")
    total = sum(value * count for value, count in returns.items())
    total_squares = sum(value * value * count for value, count in returns.items())
    variance = (total_squares - total * total / rounds) / (rounds - 1) if rounds > 1 else 0.0
    return SimulationResult(
        game=game,
        rounds=rounds,
        stake=stake,
        total_staked=stake * rounds,
        total_returned=total,
        rtp=total / (stake * rounds),
        hit_rate=sum(count for value, count in returns.items() if value > stake) / rounds,
        max_win_multiplier_x100=max(multipliers),
        standard_error=math.sqrt(max(variance, 0.0) / rounds) / stake,
        histogram=dict(sorted(multipliers.items())),
    )


def _chunks(rounds: int) -> list[range]:
    return [
        range(start, min(rounds, start + PROGRESS_EVERY))
        for start in range(0, rounds, PROGRESS_EVERY)
    ]


def _reel_lookup(weights: list[int]) -> Callable[[int], int]:
    """Map r in [0, total) to the stop ``weighted_index`` would choose for it."""
    if sum(weights) <= _LOOKUP_TABLE_LIMIT:
        table = [index for index, weight in enumerate(weights) for _ in range(weight)]
        return table.__getitem__
    cumulative = list(accumulate(weights))
    return lambda r: bisect_right(cumulative, r)


def _simulate_slot(
    config: SlotConfig, rounds: int, seed: bytes, progress: Progress | None
) -> SimulationResult:
    symbols = config.symbols
    size = len(symbols)
    weights = [[weight for _, weight in reel] for reel in config.reels]
    total_0, total_1, total_2 = (sum(reel) for reel in weights)
    limit_0, limit_1, limit_2 = (UINT32_RANGE - UINT32_RANGE % sum(reel) for reel in weights)
    stop_0, stop_1, stop_2 = (_reel_lookup(reel) for reel in weights)
    # Stop index → symbol index scaled so that the three reels add up to one combination index.
    scaled_0, scaled_1, scaled_2 = (
        [symbols.index(symbol) * size ** (2 - position) for symbol, _ in reel]
        for position, reel in enumerate(config.reels)
    )
    counts = [0] * size**3
    fallback = Counter[int]()
    unpack = struct.Struct(">III").unpack_from
    digest = hmac.digest
    prefix = f"{SIMULATION_CLIENT_SEED}:"
    for chunk in _chunks(rounds):
        for nonce in chunk:
            # Block 0 of the stream; weighted_index draws next_below on consecutive uint32s.
            a, b, c = unpack(digest(seed, f"{prefix}{nonce}:0".encode(), "sha256"))
            if a < limit_0 and b < limit_1 and c < limit_2:
                counts[
                    scaled_0[stop_0(a % total_0)]
                    + scaled_1[stop_1(b % total_1)]
                    + scaled_2[stop_2(c % total_2)]
                ] += 1
            else:  # A rejected draw reads further bytes: let the engine itself play the round.
                rng = FairRng(seed, SIMULATION_CLIENT_SEED, nonce)
                fallback[slot_spin(config, rng).multiplier_x100] += 1
        if progress is not None:
            progress(len(chunk))
    multipliers = fallback
    for index, count in enumerate(counts):
        if count:
            combination = (
                symbols[index // size**2],
                symbols[index // size % size],
                symbols[index % size],
            )
            multipliers[slot_multiplier_x100(config, combination)] += count
    return _result("slot", SIMULATION_STAKE, _returns(multipliers, SIMULATION_STAKE), multipliers)


def _returns(multipliers: Counter[int], stake: int) -> Counter[int]:
    returns = Counter[int]()
    for multiplier, count in multipliers.items():
        returns[apply_multiplier(stake, multiplier)] += count
    return returns


def _simulate_rounds(
    game: str,
    rounds: int,
    seed: bytes,
    progress: Progress | None,
    play: Callable[[FairRng, int], int],
) -> SimulationResult:
    """Generic loop: ``play(rng, nonce)`` returns the round's multiplier_x100."""
    multipliers = Counter[int]()
    for chunk in _chunks(rounds):
        for nonce in chunk:
            multipliers[play(FairRng(seed, SIMULATION_CLIENT_SEED, nonce), nonce)] += 1
        if progress is not None:
            progress(len(chunk))
    return _result(game, SIMULATION_STAKE, _returns(multipliers, SIMULATION_STAKE), multipliers)


def _simulate_gacha(
    config: GachaConfig, rounds: int, seed: bytes, progress: Progress | None
) -> SimulationResult:
    """Consecutive pulls carry pity from one to the next; a round's return is its gold (the
    published RTP counts gold only: items cannot be sold back)."""
    values = Counter[int]()
    multipliers = Counter[int]()
    pity = 0
    for chunk in _chunks(rounds):
        for nonce in chunk:
            pull = gacha_pull(config, FairRng(seed, SIMULATION_CLIENT_SEED, nonce), pity)
            pity = pull.pity_after
            value = pull.reward.gold
            values[value] += 1
            multipliers[value * 100 // config.price] += 1
        if progress is not None:
            progress(len(chunk))
    return _result("gacha", config.price, values, multipliers)


def simulate(
    game: str,
    config: Any,
    rounds: int,
    seed: bytes,
    progress: Progress | None = None,
    *,
    crash_target_x100: int = DEFAULT_CASHOUT_TARGET_X100,
) -> SimulationResult:
    """Play ``rounds`` rounds of ``game`` (nonces 0..rounds-1 under ``seed``) at stake 100.

    Crash cashes out automatically at ``crash_target_x100``; RPS plays rock, paper, scissors in
    turn (every choice has the same odds); gacha chains pity across pulls and stakes the price.
    ``progress`` is called with the number of rounds finished since its previous call.
    """
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    if game == "slot":
        return _simulate_slot(_expect(config, SlotConfig), rounds, seed, progress)
    if game == "crash":
        crash = _expect(config, CrashConfig)
        return _simulate_rounds(
            game,
            rounds,
            seed,
            progress,
            lambda rng, _: crash_settle(crash, crash_point_x100(crash, rng), crash_target_x100),
        )
    if game == "rps":
        rps = _expect(config, RpsConfig)
        return _simulate_rounds(
            game,
            rounds,
            seed,
            progress,
            lambda rng, nonce: rps_play(rps, rng, CHOICES[nonce % 3]).multiplier_x100,
        )
    if game == "gacha":
        return _simulate_gacha(_expect(config, GachaConfig), rounds, seed, progress)
    raise ValueError(f"unknown game {game!r}")


def exact_odds(
    game: str, config: Any, *, crash_target_x100: int = DEFAULT_CASHOUT_TARGET_X100
) -> Odds:
    """The exact odds matching what ``simulate`` plays (crash at ``crash_target_x100``)."""
    if game == "slot":
        return slot_odds(_expect(config, SlotConfig))
    if game == "crash":
        return crash_odds(_expect(config, CrashConfig), crash_target_x100)
    if game == "rps":
        return rps_odds(_expect(config, RpsConfig))
    if game == "gacha":
        return gacha_odds(_expect(config, GachaConfig))
    raise ValueError(f"unknown game {game!r}")


T = TypeVar("T")


def _expect(config: object, kind: type[T]) -> T:
    if not isinstance(config, kind):
        raise TypeError(f"expected a {kind.__name__}, got {type(config).__name__}")
    return config
