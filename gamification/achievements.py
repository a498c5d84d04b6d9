"""The achievement evaluator registry: metric → the player's current value.

Every evaluator reads only the player's ``PlayerProgress`` counters (kept current by the round,
purchase and claim hooks), never the rounds or purchases themselves, so evaluating after each
round costs no scan. Values only grow, so an unlocked achievement stays deserved.
"""

from __future__ import annotations

from collections.abc import Callable

from gamification.models import Metric, PlayerProgress

Evaluator = Callable[[PlayerProgress], int]

EVALUATORS: dict[str, Evaluator] = {}


def evaluator(metric: Metric) -> Callable[[Evaluator], Evaluator]:
    """Register the function that computes ``metric``."""

    def register(function: Evaluator) -> Evaluator:
        EVALUATORS[metric.value] = function
        return function

    return register


@evaluator(Metric.CUMULATIVE_BET)
def cumulative_bet(progress: PlayerProgress) -> int:
    return progress.total_bet


@evaluator(Metric.TOTAL_WIN)
def total_win(progress: PlayerProgress) -> int:
    return progress.total_won


@evaluator(Metric.WIN_STREAK)
def win_streak(progress: PlayerProgress) -> int:
    return progress.best_win_streak


@evaluator(Metric.GAMES_PLAYED)
def games_played(progress: PlayerProgress) -> int:
    return progress.rounds_played


@evaluator(Metric.BIGGEST_MULTIPLIER)
def biggest_multiplier(progress: PlayerProgress) -> int:
    return progress.best_multiplier_x100


@evaluator(Metric.STREAK_DAYS)
def streak_days(progress: PlayerProgress) -> int:
    return progress.best_streak_days


@evaluator(Metric.PURCHASES)
def purchases(progress: PlayerProgress) -> int:
    return progress.purchases


def metric_value(metric: str, progress: PlayerProgress) -> int:
    """The player's value of ``metric``; an unknown metric (a removed evaluator) is 0."""
    function = EVALUATORS.get(metric)
    return function(progress) if function is not None else 0
