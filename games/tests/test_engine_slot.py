"""Slot engine: known outcomes, paytable rules, exact odds, configuration checks."""

from collections import Counter
from fractions import Fraction

import pytest

from games.engine import DEFAULT_SLOT_CONFIG, FairRng, SlotConfig, slot_odds, slot_spin
from games.engine.simulate import SIMULATION_CLIENT_SEED, simulate
from games.engine.slot import slot_multiplier_x100

SEED = bytes(range(32))
CLIENT = "casino-club"


def spin(nonce, config=DEFAULT_SLOT_CONFIG):
    return slot_spin(config, FairRng(SEED, CLIENT, nonce))


def test_known_spins():
    outcomes = [(spin(n).reels, spin(n).multiplier_x100) for n in (0, 1, 2, 18, 34, 54, 86)]

    assert outcomes == [
        (("CHERRY", "BAR", "BELL"), 0),
        (("SEVEN", "CHERRY", "CHERRY"), 200),
        (("BAR", "LEMON", "BELL"), 0),
        (("BAR", "LEMON", "BAR"), 250),
        (("BAR", "SEVEN", "SEVEN"), 500),
        (("LEMON", "LEMON", "LEMON"), 500),
        (("CHERRY", "CHERRY", "CHERRY"), 600),
    ]


def test_reels_stop_in_order_from_consecutive_draws():
    rng = FairRng(SEED, CLIENT, 1)
    expected = tuple(
        reel[rng.weighted_index([w for _, w in reel])][0] for reel in DEFAULT_SLOT_CONFIG.reels
    )

    assert spin(1).reels == expected


def test_payout_floors_the_multiplied_stake():
    outcome = spin(18)  # 2.50×

    assert outcome.payout(100) == 250
    assert outcome.payout(3) == 7
    assert spin(0).payout(1000) == 0


@pytest.mark.parametrize(
    ("symbols", "multiplier"),
    [
        (("SEVEN", "SEVEN", "SEVEN"), 7500),
        (("SEVEN", "SEVEN", "BAR"), 500),
        (("SEVEN", "BAR", "SEVEN"), 500),
        (("BAR", "SEVEN", "SEVEN"), 500),
        (("LEMON", "LEMON", "BAR"), 0),  # no pair line for LEMON
        (("CHERRY", "BAR", "SEVEN"), 0),
    ],
)
def test_three_of_a_kind_then_pair_anywhere(symbols, multiplier):
    assert slot_multiplier_x100(DEFAULT_SLOT_CONFIG, symbols) == multiplier


def test_default_odds_are_exact_and_in_range():
    odds = slot_odds(DEFAULT_SLOT_CONFIG)

    assert odds.rtp == Fraction(24, 25)
    assert Fraction(955, 1000) <= odds.rtp <= Fraction(965, 1000)
    assert odds.hit_rate == Fraction(30823, 125000)
    assert Fraction(20, 100) <= odds.hit_rate <= Fraction(35, 100)
    assert sum(o.probability for o in odds.outcomes) == 1
    assert odds.rtp == sum(o.probability * o.multiplier_x100 for o in odds.outcomes) / 100
    assert odds.outcomes[0].label == "three DIAMOND"
    assert odds.outcomes[0].probability == Fraction(5 * 5 * 4, 100**3)
    assert odds.outcomes[-1].label == "no win"


def test_odds_match_exhaustive_enumeration_of_weighted_stops():
    counts = Counter()
    reels = DEFAULT_SLOT_CONFIG.reels
    for a, wa in reels[0]:
        for b, wb in reels[1]:
            for c, wc in reels[2]:
                counts[slot_multiplier_x100(DEFAULT_SLOT_CONFIG, (a, b, c))] += wa * wb * wc
    total = 100**3

    by_multiplier = Counter()
    for outcome in slot_odds(DEFAULT_SLOT_CONFIG).outcomes:
        by_multiplier[outcome.multiplier_x100] += outcome.probability

    assert {m: Fraction(n, total) for m, n in counts.items()} == dict(by_multiplier)


def test_odds_to_dict_is_json_friendly():
    data = slot_odds(DEFAULT_SLOT_CONFIG).to_dict()

    assert data["rtp"] == 0.96
    assert data["rtp_percent"] == "96.00%"
    assert data["hit_rate_percent"] == "24.66%"
    assert data["outcomes"][0] == {
        "label": "three DIAMOND",
        "probability": 0.0001,
        "probability_exact": "1/10000",
        "probability_percent": "0.0100%",
        "multiplier_x100": 25000,
    }
    assert data["extra"]["max_multiplier_x100"] == 25000


def test_config_round_trips_through_json_form():
    data = DEFAULT_SLOT_CONFIG.to_dict()

    assert data["reels"][0][0] == ["CHERRY", 22]
    assert SlotConfig.from_dict(data) == DEFAULT_SLOT_CONFIG


def _config(**changes):
    data = DEFAULT_SLOT_CONFIG.to_dict()
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_config(reels=DEFAULT_SLOT_CONFIG.to_dict()["reels"][:2]), "exactly 3 reels"),
        (_config(reels=[[["A", 1]], [["A", 0]], [["A", 1]]]), "at least 1"),
        (_config(reels=[[["A", 1]], [["A", 1.5]], [["A", 1]]]), "must be an integer"),
        (_config(reels=[[["A", 1]], [["A", True]], [["A", 1]]]), "must be an integer"),
        (_config(reels=[[["A", 1]], [], [["A", 1]]]), "no symbols"),
        (_config(reels=[[["A", 1], ["A", 2]], [["A", 1]], [["A", 1]]]), "listed twice"),
        (_config(pair={"PLUM": 200}), "on no reel"),
        (_config(pair={"CHERRY": -1}), "at least 0"),
        (_config(three_of_a_kind={"CHERRY": 10_000_000}), "below 100%"),
        (_config(reels="nope"), "must be a list"),
        ({"reels": []}, "malformed slot"),
    ],
)
def test_invalid_configurations_raise_a_clear_value_error(data, message):
    with pytest.raises(ValueError, match=message):
        SlotConfig.from_dict(data)


def test_fast_simulation_path_is_bit_identical_to_slot_spin():
    seed = b"fast-path"

    result = simulate("slot", DEFAULT_SLOT_CONFIG, 5_000, seed)

    expected = Counter(
        slot_spin(DEFAULT_SLOT_CONFIG, FairRng(seed, SIMULATION_CLIENT_SEED, n)).multiplier_x100
        for n in range(5_000)
    )
    assert result.histogram == dict(sorted(expected.items()))


def test_fast_path_handles_rejected_draws_and_huge_weights_identically():
    """Reels of total weight 3e9 reject ~30% of uint32 draws; those rounds read more bytes."""
    reel = (("A", 1_000_000_000), ("B", 1_500_000_000), ("C", 500_000_000))
    config = SlotConfig(
        reels=(reel, reel, reel), three_of_a_kind={"A": 150, "C": 300}, pair={"B": 110}
    )
    config.validate()
    seed = b"rejections"

    result = simulate("slot", config, 3_000, seed)

    expected = Counter(
        slot_spin(config, FairRng(seed, SIMULATION_CLIENT_SEED, n)).multiplier_x100
        for n in range(3_000)
    )
    assert result.histogram == dict(sorted(expected.items()))
