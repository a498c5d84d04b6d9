"""Three weighted reels; three-of-a-kind and pair wins from a paytable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from itertools import product
from typing import Any

from games.engine._checks import parse, require_int, require_list, require_mapping
from games.engine.fair import UINT32_RANGE, FairRng
from games.engine.odds import Odds, OutcomeProbability, apply_multiplier

REEL_COUNT = 3


@dataclass(frozen=True)
class SlotConfig:
    """``reels``: per reel, (symbol, weight) stops in draw order. Multipliers are x100."""

    reels: tuple[tuple[tuple[str, int], ...], ...]
    three_of_a_kind: Mapping[str, int]
    pair: Mapping[str, int]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SlotConfig:
        """Parse and validate the JSON form (see ``to_dict``); raises ValueError."""

        def build() -> SlotConfig:
            body = require_mapping(data, "slot configuration")
            reels = tuple(
                tuple((symbol, weight) for symbol, weight in require_list(reel, "a reel"))
                for reel in require_list(body["reels"], "reels")
            )
            return cls(
                reels=reels,
                three_of_a_kind=dict(require_mapping(body["three_of_a_kind"], "three_of_a_kind")),
                pair=dict(require_mapping(body["pair"], "pair")),
            )

        config = parse(build, "slot")
        config.validate()
        return config

    def to_dict(self) -> dict[str, Any]:
        return {
            "reels": [[[symbol, weight] for symbol, weight in reel] for reel in self.reels],
            "three_of_a_kind": dict(self.three_of_a_kind),
            "pair": dict(self.pair),
        }

    @property
    def symbols(self) -> tuple[str, ...]:
        """Every symbol, in order of first appearance on the reels."""
        return tuple(dict.fromkeys(symbol for reel in self.reels for symbol, _ in reel))

    def validate(self) -> None:
        """Raise ValueError unless the configuration is playable and its exact RTP is below 100%."""
        if len(self.reels) != REEL_COUNT:
            raise ValueError(f"a slot has exactly {REEL_COUNT} reels, got {len(self.reels)}")
        for number, reel in enumerate(self.reels, start=1):
            if not reel:
                raise ValueError(f"reel {number} has no symbols")
            seen: set[str] = set()
            for symbol, weight in reel:
                if not isinstance(symbol, str) or not symbol:
                    raise ValueError(
                        f"reel {number}: symbols are non-empty strings, got {symbol!r}"
                    )
                if symbol in seen:
                    raise ValueError(f"reel {number}: symbol {symbol} is listed twice")
                seen.add(symbol)
                require_int(weight, f"reel {number} weight of {symbol}", minimum=1)
            if sum(weight for _, weight in reel) > UINT32_RANGE:
                raise ValueError(f"reel {number}: total weight exceeds 2**32")
        known = set(self.symbols)
        for table_name, table in (("three_of_a_kind", self.three_of_a_kind), ("pair", self.pair)):
            for symbol, multiplier in table.items():
                if symbol not in known:
                    raise ValueError(f"{table_name}: symbol {symbol!r} is on no reel")
                require_int(multiplier, f"{table_name} multiplier of {symbol}", minimum=0)
        rtp = slot_odds(self).rtp
        if rtp >= 1:
            raise ValueError(f"exact RTP must stay below 100%, this configuration gives {rtp}")


def slot_multiplier_x100(config: SlotConfig, symbols: tuple[str, str, str]) -> int:
    """Three of a kind pays its line; otherwise exactly two equal symbols (anywhere) pay a pair."""
    first, second, third = symbols
    if first == second == third:
        return config.three_of_a_kind.get(first, 0)
    if first in (second, third):
        return config.pair.get(first, 0)
    if second == third:
        return config.pair.get(second, 0)
    return 0


@dataclass(frozen=True)
class SlotOutcome:
    reels: tuple[str, str, str]
    multiplier_x100: int

    def payout(self, stake: int) -> int:
        return apply_multiplier(stake, self.multiplier_x100)


def slot_spin(config: SlotConfig, rng: FairRng) -> SlotOutcome:
    """Reel 0, then 1, then 2: each stop is ``rng.weighted_index`` over that reel's weights."""
    first, second, third = (
        reel[rng.weighted_index([weight for _, weight in reel])][0] for reel in config.reels
    )
    symbols = (first, second, third)
    return SlotOutcome(reels=symbols, multiplier_x100=slot_multiplier_x100(config, symbols))


def slot_odds(config: SlotConfig) -> Odds:
    """Exact odds by enumerating every symbol combination of the three reels.

    Weights are multiplied as integers and divided once per outcome, so this stays fast enough to
    run on every configuration load (validation calls it).
    """
    denominator = 1
    for reel in config.reels:
        denominator *= sum(weight for _, weight in reel)
    by_label: dict[str, tuple[int, int]] = {}
    no_win = 0
    for (first, weight_0), (second, weight_1), (third, weight_2) in product(*config.reels):
        combinations = weight_0 * weight_1 * weight_2
        multiplier = slot_multiplier_x100(config, (first, second, third))
        if multiplier == 0:
            no_win += combinations
            continue
        if first == second == third:
            label = f"three {first}"
        else:
            label = f"pair {first if first in (second, third) else second}"
        previous, _ = by_label.get(label, (0, multiplier))
        by_label[label] = (previous + combinations, multiplier)
    outcomes = [
        OutcomeProbability(label, Fraction(count, denominator), multiplier)
        for label, (count, multiplier) in sorted(
            by_label.items(), key=lambda item: (-item[1][1], item[0])
        )
    ]
    outcomes.append(OutcomeProbability("no win", Fraction(no_win, denominator), 0))
    returned = sum(count * multiplier for count, multiplier in by_label.values())
    hits = sum(count for count, multiplier in by_label.values() if multiplier > 100)
    return Odds(
        rtp=Fraction(returned, denominator * 100),
        hit_rate=Fraction(hits, denominator),
        outcomes=outcomes,
        extra={
            "symbols": list(config.symbols),
            "max_multiplier_x100": max(o.multiplier_x100 for o in outcomes),
            "paytable": {
                "three_of_a_kind": dict(config.three_of_a_kind),
                "pair": dict(config.pair),
            },
        },
    )


_BASE_REEL = (
    ("CHERRY", 22),
    ("LEMON", 30),
    ("BELL", 20),
    ("BAR", 14),
    ("SEVEN", 9),
    ("DIAMOND", 5),
)

# Exact RTP 96.00% (24/25), hit rate 24.66% (30823/125000), top win 250×.
DEFAULT_SLOT_CONFIG = SlotConfig(
    reels=(
        _BASE_REEL,
        _BASE_REEL,
        (("CHERRY", 24), ("LEMON", 30), ("BELL", 20), ("BAR", 14), ("SEVEN", 8), ("DIAMOND", 4)),
    ),
    three_of_a_kind={
        "CHERRY": 600,
        "LEMON": 500,
        "BELL": 1200,
        "BAR": 2500,
        "SEVEN": 7500,
        "DIAMOND": 25000,
    },
    pair={"CHERRY": 200, "BAR": 250, "SEVEN": 500, "DIAMOND": 800},
)
