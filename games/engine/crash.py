"""Crash: a crash point committed at bet time, a multiplier growing on the server clock.

Crash point (x100) = ``max(100, min(cap, floor((10000 - edge_bp) * 2**52 / (100 * (2**52 - k)))))``
where ``k = rng.next_uint52()`` (so ``u = k / 2**52 = rng.next_float()``): in real numbers
``floor(100 * (1 - edge) / (1 - u))``, computed in integers so no float rounding can move it.
Then P(crash >= m) = floor((1 - edge) * 2**52 * 100 / m) / 2**52 for 1.00× < m <= cap, i.e.
(1 - edge) / m up to 2**-52, and an auto cash-out at any target returns 1 - edge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from games.engine._checks import parse, require_int, require_mapping
from games.engine.fair import FLOAT_RANGE, FairRng
from games.engine.odds import Odds, OutcomeProbability

BASIS_POINTS = 10_000
ONE_X100 = 100
DEFAULT_CASHOUT_TARGET_X100 = 200


@dataclass(frozen=True)
class CrashConfig:
    """``house_edge_bp``: basis points (100 = 1%). The multiplier ``t`` ms into the round is
    ``e^(growth_per_ms * t)`` (2.00× after about 11.55 s by default), capped at
    ``max_multiplier_x100``."""

    house_edge_bp: int = 100
    max_multiplier_x100: int = 1_000_000
    growth_per_ms: float = 0.00006

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CrashConfig:
        def build() -> CrashConfig:
            body = require_mapping(data, "crash configuration")
            return cls(
                house_edge_bp=body["house_edge_bp"],
                max_multiplier_x100=body["max_multiplier_x100"],
                growth_per_ms=body["growth_per_ms"],
            )

        config = parse(build, "crash")
        config.validate()
        return config

    def to_dict(self) -> dict[str, Any]:
        return {
            "house_edge_bp": self.house_edge_bp,
            "max_multiplier_x100": self.max_multiplier_x100,
            "growth_per_ms": self.growth_per_ms,
        }

    def validate(self) -> None:
        """The edge is 1 to 9999 basis points (a positive edge keeps RTP below 100%), the cap is
        above 1.00×, and the growth rate is a positive finite number."""
        require_int(self.house_edge_bp, "house_edge_bp", minimum=1)
        if self.house_edge_bp >= BASIS_POINTS:
            raise ValueError("house_edge_bp must be below 10000 (100%)")
        require_int(self.max_multiplier_x100, "max_multiplier_x100", minimum=ONE_X100 + 1)
        growth = self.growth_per_ms
        if isinstance(growth, bool) or not isinstance(growth, int | float):
            raise ValueError(f"growth_per_ms must be a number, got {growth!r}")
        if not (math.isfinite(growth) and growth > 0):
            raise ValueError(f"growth_per_ms must be positive and finite, got {growth!r}")


def crash_point_from_uint52(config: CrashConfig, k: int) -> int:
    """The crash point (x100) for the 52-bit draw ``k``; pure integer arithmetic."""
    raw = (BASIS_POINTS - config.house_edge_bp) * FLOAT_RANGE // (100 * (FLOAT_RANGE - k))
    return max(ONE_X100, min(config.max_multiplier_x100, raw))


def crash_point_x100(config: CrashConfig, rng: FairRng) -> int:
    """Draw the round's crash point: one 52-bit value (the bytes of ``rng.next_float()``)."""
    return crash_point_from_uint52(config, rng.next_uint52())


def multiplier_at_x100(config: CrashConfig, elapsed_ms: int) -> int:
    """``floor(100 * e^(growth_per_ms * elapsed_ms))``, capped at the maximum."""
    if elapsed_ms < 0:
        raise ValueError("elapsed_ms must be non-negative")
    exponent = config.growth_per_ms * elapsed_ms
    if exponent >= math.log(config.max_multiplier_x100 / ONE_X100) + 1:
        return config.max_multiplier_x100
    return min(config.max_multiplier_x100, math.floor(ONE_X100 * math.exp(exponent)))


def elapsed_ms_for_x100(config: CrashConfig, multiplier_x100: int) -> int:
    """The first whole millisecond at which ``multiplier_at_x100`` reaches ``multiplier_x100``."""
    if multiplier_x100 > config.max_multiplier_x100:
        raise ValueError("multiplier_x100 is above the configured maximum")
    if multiplier_x100 <= ONE_X100:
        return 0
    elapsed = math.ceil(math.log(multiplier_x100 / ONE_X100) / config.growth_per_ms)
    # Settle float rounding against the forward curve so the two functions always agree.
    while elapsed > 0 and multiplier_at_x100(config, elapsed - 1) >= multiplier_x100:
        elapsed -= 1
    while multiplier_at_x100(config, elapsed) < multiplier_x100:
        elapsed += 1
    return elapsed


def crash_settle(config: CrashConfig, crash_x100: int, cashout_x100: int | None) -> int:
    """The paid multiplier (x100): ``cashout_x100`` when the cash-out happened at or below the
    crash point, else 0. A crash point of 1.00× busts at once, before any cash-out.

    A cash-out at exactly the crash point wins: the multiplier reached it before the bust, and
    this is what makes P(crash >= m) * m = 1 - edge the RTP of every target. Manual cash-outs
    must be timed against the bust moment: use ``crash_cashout_at``.
    """
    if cashout_x100 is None:
        return 0
    if cashout_x100 < ONE_X100:
        raise ValueError("a cash-out multiplier is at least 1.00× (100)")
    if crash_x100 > ONE_X100 and cashout_x100 <= crash_x100:
        return cashout_x100
    return 0


def crash_bust_ms(config: CrashConfig, crash_x100: int) -> int:
    """The elapsed millisecond at which the round busts (the curve reaches the crash point)."""
    return elapsed_ms_for_x100(config, crash_x100)


def crash_cashout_at(config: CrashConfig, crash_x100: int, elapsed_ms: int) -> int:
    """Paid multiplier (x100) for a manual cash-out ``elapsed_ms`` after the round started:
    the curve's value then if that is strictly before the bust moment, else 0 (too late)."""
    if elapsed_ms >= crash_bust_ms(config, crash_x100):
        return 0
    return crash_settle(config, crash_x100, multiplier_at_x100(config, elapsed_ms))


def crash_probability_at_least(config: CrashConfig, multiplier_x100: int) -> Fraction:
    """Exact P(crash point >= multiplier_x100) over the 2**52 equally likely draws."""
    if multiplier_x100 <= ONE_X100:
        return Fraction(1)
    if multiplier_x100 > config.max_multiplier_x100:
        return Fraction(0)
    # raw >= m  <=>  2**52 - k <= (10000 - edge) * 2**52 // (100 * m), with 2**52 - k in [1, 2**52].
    favourable = (BASIS_POINTS - config.house_edge_bp) * FLOAT_RANGE // (100 * multiplier_x100)
    return Fraction(min(FLOAT_RANGE, favourable), FLOAT_RANGE)


def crash_odds(config: CrashConfig, target_x100: int = DEFAULT_CASHOUT_TARGET_X100) -> Odds:
    """Exact odds of an automatic cash-out at ``target_x100`` (above 1.00×, at most the cap)."""
    if not ONE_X100 < target_x100 <= config.max_multiplier_x100:
        raise ValueError("target_x100 must be above 100 and at most max_multiplier_x100")
    reached = crash_probability_at_least(config, target_x100)
    edge = Fraction(config.house_edge_bp, BASIS_POINTS)
    reference_targets = [150, 200, 500, 1000, 10000, 100000]
    return Odds(
        rtp=reached * target_x100 / 100,
        hit_rate=reached,
        outcomes=[
            OutcomeProbability(f"cash out at {target_x100 / 100:.2f}x", reached, target_x100),
            OutcomeProbability("bust first", 1 - reached, 0),
        ],
        extra={
            "house_edge": float(edge),
            "house_edge_bp": config.house_edge_bp,
            "target_x100": target_x100,
            "max_multiplier_x100": config.max_multiplier_x100,
            "growth_per_ms": config.growth_per_ms,
            "instant_bust_probability": float(1 - crash_probability_at_least(config, 101)),
            "probability_crash_at_least": {
                str(m): float(crash_probability_at_least(config, m))
                for m in reference_targets
                if m <= config.max_multiplier_x100
            },
            "rtp_any_target": float(1 - edge),
        },
    )
