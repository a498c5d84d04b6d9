"""Rock-paper-scissors engine."""

from fractions import Fraction

import pytest

from games.engine import CHOICES, FairRng, RpsConfig, rps_odds, rps_play
from games.engine.rps import rps_result

SEED = bytes(range(32))
CLIENT = "casino-club"


def test_known_hands():
    hands = [
        rps_play(RpsConfig(), FairRng(SEED, CLIENT, nonce), choice)
        for nonce, choice in enumerate(["rock", "paper", "scissors", "rock", "paper", "scissors"])
    ]

    assert [(h.opponent, h.result, h.multiplier_x100) for h in hands] == [
        ("scissors", "win", 196),
        ("rock", "win", 196),
        ("paper", "win", 196),
        ("rock", "draw", 100),
        ("paper", "draw", 100),
        ("rock", "loss", 0),
    ]
    assert hands[0].payout(1000) == 1960
    assert hands[3].payout(1000) == 1000
    assert hands[5].payout(1000) == 0


def test_opponent_is_choices_at_next_below_3():
    for nonce in range(20):
        expected = CHOICES[FairRng(SEED, CLIENT, nonce).next_below(3)]
        assert rps_play(RpsConfig(), FairRng(SEED, CLIENT, nonce), "rock").opponent == expected


@pytest.mark.parametrize(
    ("player", "opponent", "result"),
    [
        ("rock", "scissors", "win"),
        ("paper", "rock", "win"),
        ("scissors", "paper", "win"),
        ("rock", "paper", "loss"),
        ("paper", "scissors", "loss"),
        ("scissors", "rock", "loss"),
        ("rock", "rock", "draw"),
    ],
)
def test_result_table(player, opponent, result):
    assert rps_result(player, opponent) == result


@pytest.mark.parametrize("choice", ["lizard", "Rock", "", "spock"])
def test_unknown_choice_raises_before_drawing(choice):
    rng = FairRng(SEED, CLIENT, 0)

    with pytest.raises(ValueError, match="unknown choice"):
        rps_play(RpsConfig(), rng, choice)
    assert rng.blocks_used == 0


def test_odds_are_exact():
    odds = rps_odds(RpsConfig())

    assert odds.rtp == Fraction(296, 300)
    assert odds.hit_rate == Fraction(1, 3)
    assert sum(o.probability for o in odds.outcomes) == 1
    assert rps_odds(RpsConfig(win_multiplier_x100=150)).rtp == Fraction(250, 300)


def test_config_round_trip():
    assert RpsConfig.from_dict({"win_multiplier_x100": 180}) == RpsConfig(180)
    assert RpsConfig.from_dict(RpsConfig().to_dict()) == RpsConfig()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"win_multiplier_x100": 99}, "at least 100"),
        ({"win_multiplier_x100": 200}, "below 200"),
        ({"win_multiplier_x100": "196"}, "must be an integer"),
        ({}, "malformed rps"),
    ],
)
def test_invalid_configurations_raise_a_clear_value_error(data, message):
    with pytest.raises(ValueError, match=message):
        RpsConfig.from_dict(data)
