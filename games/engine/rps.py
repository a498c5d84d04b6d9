"""Rock-paper-scissors against a uniformly drawn opponent: win pays the configured multiple."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from games.engine._checks import parse, require_int, require_mapping
from games.engine.fair import FairRng
from games.engine.odds import Odds, OutcomeProbability, apply_multiplier

Choice = Literal["rock", "paper", "scissors"]
Result = Literal["win", "draw", "loss"]
CHOICES: tuple[str, ...] = ("rock", "paper", "scissors")
BEATS: Mapping[str, str] = {"rock": "scissors", "paper": "rock", "scissors": "paper"}
DRAW_MULTIPLIER_X100 = 100


@dataclass(frozen=True)
class RpsConfig:
    win_multiplier_x100: int = 196

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RpsConfig:
        config = parse(
            lambda: cls(
                win_multiplier_x100=require_mapping(data, "rps configuration")[
                    "win_multiplier_x100"
                ]
            ),
            "rps",
        )
        config.validate()
        return config

    def to_dict(self) -> dict[str, Any]:
        return {"win_multiplier_x100": self.win_multiplier_x100}

    def validate(self) -> None:
        """A win pays at least the stake back, and below 2.00× (so the exact RTP stays < 100%)."""
        require_int(self.win_multiplier_x100, "win_multiplier_x100", minimum=DRAW_MULTIPLIER_X100)
        if self.win_multiplier_x100 >= 200:
            raise ValueError("win_multiplier_x100 must be below 200: RTP is (win + 100) / 300")


@dataclass(frozen=True)
class RpsOutcome:
    player: str
    opponent: str
    result: Result
    multiplier_x100: int

    def payout(self, stake: int) -> int:
        return apply_multiplier(stake, self.multiplier_x100)


def rps_result(player: str, opponent: str) -> Result:
    if player == opponent:
        return "draw"
    return "win" if BEATS[player] == opponent else "loss"


def rps_play(config: RpsConfig, rng: FairRng, choice: str) -> RpsOutcome:
    """The opponent is ``CHOICES[rng.next_below(3)]``; raises ValueError on an unknown choice
    (before anything is drawn)."""
    if choice not in CHOICES:
        raise ValueError(f"unknown choice {choice!r}: expected one of {', '.join(CHOICES)}")
    opponent = CHOICES[rng.next_below(len(CHOICES))]
    result = rps_result(choice, opponent)
    multiplier = {
        "win": config.win_multiplier_x100,
        "draw": DRAW_MULTIPLIER_X100,
        "loss": 0,
    }[result]
    return RpsOutcome(player=choice, opponent=opponent, result=result, multiplier_x100=multiplier)


def rps_odds(config: RpsConfig) -> Odds:
    third = Fraction(1, 3)
    outcomes = [
        OutcomeProbability("win", third, config.win_multiplier_x100),
        OutcomeProbability("draw", third, DRAW_MULTIPLIER_X100),
        OutcomeProbability("loss", third, 0),
    ]
    return Odds(
        rtp=sum((o.probability * o.multiplier_x100 for o in outcomes), Fraction(0)) / 100,
        hit_rate=third,
        outcomes=outcomes,
        extra={"choices": list(CHOICES), "opponent": "uniform over the three choices"},
    )
