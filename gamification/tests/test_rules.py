"""The progression rules as pure functions."""

from datetime import date

import pytest

from gamification import rules
from gamification.achievements import EVALUATORS
from gamification.models import Metric

TODAY = date(2025, 3, 10)


@pytest.mark.parametrize(
    ("bet", "xp"), [(1, 1), (9, 1), (10, 1), (25, 2), (100, 10), (500, 50), (10_000, 50)]
)
def test_round_experience_is_a_tenth_of_the_bet_between_1_and_50(bet, xp):
    assert rules.round_experience(bet) == xp


@pytest.mark.parametrize(
    ("last", "current", "grace", "expected"),
    [
        (None, 0, 0, 1),
        (date(2025, 3, 9), 4, 0, 5),  # yesterday: continues
        (date(2025, 3, 8), 4, 0, 1),  # a missed day resets
        (date(2025, 3, 8), 4, 1, 5),  # … unless one day of grace
        (date(2025, 3, 7), 4, 1, 1),  # two missed days reset even with grace
    ],
)
def test_streak_day_for_a_claim(last, current, grace, expected):
    assert rules.streak_day_for_claim(last, current, TODAY, grace) == expected


def test_streak_reward_grows_then_caps_at_the_last_row():
    table = [(3, 200), (1, 100), (2, 150)]

    assert [rules.streak_reward_for(day, table) for day in (1, 2, 3, 4, 30)] == [
        100,
        150,
        200,
        200,
        200,
    ]
    assert rules.streak_reward_for(1, []) == 0


@pytest.mark.parametrize(
    ("points", "rank"), [(0, "STANDARD"), (499, "STANDARD"), (500, "PREMIUM"), (3000, "VIP")]
)
def test_rank_for_points(points, rank):
    assert rules.rank_for_points(points, 500, 3000) == rank


def test_vip_points_are_one_per_100_cents():
    assert [rules.vip_points_for_purchase(c) for c in (0, 99, 100, 4900)] == [0, 0, 1, 49]


def test_progress_steps_are_tenths_of_the_threshold():
    assert [rules.progress_step(v, 100) for v in (0, 9, 10, 55, 100, 250)] == [0, 0, 1, 5, 10, 10]


def test_every_metric_has_an_evaluator():
    assert set(EVALUATORS) == set(Metric.values)
