"""Crash engine: committed crash point, exact bust probabilities, the curve and settlement."""

from fractions import Fraction

import pytest

from games.engine import (
    CrashConfig,
    FairRng,
    crash_cashout_at,
    crash_odds,
    crash_point_x100,
    crash_probability_at_least,
    crash_settle,
    elapsed_ms_for_x100,
    multiplier_at_x100,
)
from games.engine.crash import crash_bust_ms, crash_point_from_uint52

SEED = bytes(range(32))
CLIENT = "casino-club"
CONFIG = CrashConfig()
TWO_52 = 2**52


def test_known_crash_points():
    points = [crash_point_x100(CONFIG, FairRng(SEED, CLIENT, n)) for n in range(10)]

    assert points == [401, 798, 100, 225, 225, 719, 130, 208, 122, 146]


def test_crash_point_is_the_floored_bustabit_formula_of_the_float_draw():
    for nonce in range(200):
        u = FairRng(SEED, CLIENT, nonce).next_float()
        expected = max(100, min(1_000_000, int(Fraction(99) / (1 - Fraction(u)))))
        assert crash_point_x100(CONFIG, FairRng(SEED, CLIENT, nonce)) == expected


def test_crash_point_extremes():
    assert crash_point_from_uint52(CONFIG, 0) == 100  # 99 / 1 → instant bust
    assert crash_point_from_uint52(CONFIG, TWO_52 - 1) == 1_000_000  # capped
    assert crash_point_from_uint52(CrashConfig(house_edge_bp=1), 0) == 100  # floor(99.99)


@pytest.mark.parametrize("m", [101, 150, 200, 257, 1000, 12345, 999_999])
def test_probability_counts_exactly_the_draws_at_or_above_m(m):
    """The draw k reaches m iff k >= 2**52 - floor(9900 * 2**52 / (100 m)): check both sides."""
    favourable = 9900 * TWO_52 // (100 * m)
    threshold = TWO_52 - favourable

    assert crash_point_from_uint52(CONFIG, threshold) >= m
    assert crash_point_from_uint52(CONFIG, threshold - 1) < m
    assert crash_probability_at_least(CONFIG, m) == Fraction(favourable, TWO_52)


@pytest.mark.parametrize("m", [128, 198, 256, 396, 1024, 3168])
def test_probability_of_reaching_m_is_exactly_one_minus_edge_over_m(m):
    """Where 100·m divides 9900·2**52 the identity P(crash >= m) = 0.99 / (m/100) is exact."""
    assert crash_probability_at_least(CONFIG, m) == Fraction(99, 100) * 100 / m
    assert crash_odds(CONFIG, m).rtp == Fraction(99, 100)


@pytest.mark.parametrize("m", [101, 150, 200, 333, 777, 5000, 1_000_000])
def test_probability_of_reaching_m_is_within_2_pow_minus_52_elsewhere(m):
    ideal = Fraction(99, 100) * 100 / m

    assert 0 <= ideal - crash_probability_at_least(CONFIG, m) < Fraction(1, TWO_52)


def test_probability_outside_the_range():
    assert crash_probability_at_least(CONFIG, 100) == 1
    assert crash_probability_at_least(CONFIG, 1_000_001) == 0


def test_default_odds_for_a_two_x_target():
    odds = crash_odds(CONFIG)

    assert odds.rtp == Fraction(9900 * TWO_52 // 20000, TWO_52) * 2
    assert abs(odds.rtp - Fraction(99, 100)) < Fraction(2, TWO_52)
    assert odds.hit_rate == crash_probability_at_least(CONFIG, 200)
    assert sum(o.probability for o in odds.outcomes) == 1
    assert odds.to_dict()["rtp_percent"] == "99.00%"
    assert odds.extra["instant_bust_probability"] == pytest.approx(1 - 99 / 101)


@pytest.mark.parametrize("target", [100, 1_000_001])
def test_odds_refuse_impossible_targets(target):
    with pytest.raises(ValueError, match="target_x100 must be above 100"):
        crash_odds(CONFIG, target)


def test_curve_and_its_inverse_agree():
    assert multiplier_at_x100(CONFIG, 0) == 100
    assert elapsed_ms_for_x100(CONFIG, 100) == 0
    assert elapsed_ms_for_x100(CONFIG, 200) == 11553
    assert multiplier_at_x100(CONFIG, 10**9) == 1_000_000
    for m in [*range(101, 3000, 7), 10_000, 123_456, 999_999, 1_000_000]:
        t = elapsed_ms_for_x100(CONFIG, m)
        assert multiplier_at_x100(CONFIG, t) >= m
        assert multiplier_at_x100(CONFIG, t - 1) < m
    with pytest.raises(ValueError, match="above the configured maximum"):
        elapsed_ms_for_x100(CONFIG, 1_000_001)
    with pytest.raises(ValueError, match="non-negative"):
        multiplier_at_x100(CONFIG, -1)


def test_settle_pays_a_cash_out_at_or_below_the_crash_point():
    assert crash_settle(CONFIG, 250, 200) == 200
    assert crash_settle(CONFIG, 250, 250) == 250
    assert crash_settle(CONFIG, 250, 251) == 0
    assert crash_settle(CONFIG, 250, None) == 0
    assert crash_settle(CONFIG, 250, 100) == 100
    assert crash_settle(CONFIG, 100, 100) == 0  # instant bust: nobody cashes out
    with pytest.raises(ValueError, match="cash-out multiplier is at least"):
        crash_settle(CONFIG, 250, 99)


def test_manual_cash_out_counts_only_before_the_bust_moment():
    bust = crash_bust_ms(CONFIG, 150)

    assert crash_cashout_at(CONFIG, 150, bust - 1) == multiplier_at_x100(CONFIG, bust - 1) == 149
    assert crash_cashout_at(CONFIG, 150, bust) == 0
    assert crash_cashout_at(CONFIG, 150, bust + 50) == 0  # curve still shows 1.50×: too late
    assert crash_cashout_at(CONFIG, 100, 0) == 0


def test_config_round_trip_and_validation():
    assert CrashConfig.from_dict(CONFIG.to_dict()) == CONFIG
    bad = [
        ({**CONFIG.to_dict(), "house_edge_bp": 0}, "house_edge_bp must be at least 1"),
        ({**CONFIG.to_dict(), "house_edge_bp": 10_000}, "below 10000"),
        ({**CONFIG.to_dict(), "max_multiplier_x100": 100}, "at least 101"),
        ({**CONFIG.to_dict(), "growth_per_ms": 0}, "positive and finite"),
        ({**CONFIG.to_dict(), "growth_per_ms": float("inf")}, "positive and finite"),
        ({**CONFIG.to_dict(), "growth_per_ms": "fast"}, "must be a number"),
        ({"house_edge_bp": 100}, "malformed crash"),
    ]
    for data, message in bad:
        with pytest.raises(ValueError, match=message):
            CrashConfig.from_dict(data)
