"""Exact odds disclosure: every figure is a Fraction computed from a configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any


def percent(value: Fraction, places: int = 2) -> str:
    """``Fraction(1929, 2000)`` → ``"96.45%"`` (rounded half-even to ``places`` decimals)."""
    return f"{float(round(value * 100, places)):.{places}f}%"


@dataclass(frozen=True)
class OutcomeProbability:
    label: str
    probability: Fraction
    multiplier_x100: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "probability": float(self.probability),
            "probability_exact": str(self.probability),
            "probability_percent": percent(self.probability, 4),
            "multiplier_x100": self.multiplier_x100,
        }


@dataclass(frozen=True)
class Odds:
    """``rtp``: expected return per unit staked. ``hit_rate``: probability that a round returns
    more than its stake (multiplier above 1.00×; an RPS draw's refund is not a hit)."""

    rtp: Fraction
    hit_rate: Fraction
    outcomes: list[OutcomeProbability]
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rtp": float(self.rtp),
            "rtp_percent": percent(self.rtp),
            "rtp_exact": str(self.rtp),
            "hit_rate": float(self.hit_rate),
            "hit_rate_percent": percent(self.hit_rate),
            "hit_rate_exact": str(self.hit_rate),
            "outcomes": [outcome.to_dict() for outcome in self.outcomes],
            "extra": self.extra,
        }


def apply_multiplier(stake: int, multiplier_x100: int) -> int:
    """Gold paid for ``stake`` at ``multiplier_x100`` hundredths: always floored."""
    if stake < 0:
        raise ValueError("stake must be non-negative")
    return stake * multiplier_x100 // 100
