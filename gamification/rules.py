"""Progression rules as pure functions (no database): XP, streak days, ranks, VIP daily claim.

Each rule is documented in docs/decisions/ (0020 XP, 0021 streak, 0022 ranks).
"""

from __future__ import annotations

from datetime import date

from accounts.models import Rank

# XP (docs/decisions/0020-progression-xp.md)
XP_PER_BET_GOLD = 10  # 1 XP per 10 gold bet …
ROUND_XP_MIN = 1  # … at least 1 per round …
ROUND_XP_MAX = 50  # … at most 50 per round (a 10 000-gold spin is not 20 levels)
STREAK_CLAIM_XP = 20
VIP_CLAIM_XP = 10

# Ranks (docs/decisions/0022-rank-earning.md)
RANK_ORDER: tuple[str, ...] = (Rank.STANDARD, Rank.PREMIUM, Rank.VIP)
CENTS_PER_VIP_POINT = 100
VIP_DAILY_POINTS: dict[str, int] = {Rank.STANDARD: 10, Rank.PREMIUM: 20, Rank.VIP: 30}
VIP_DAILY_GOLD: dict[str, int] = {Rank.STANDARD: 0, Rank.PREMIUM: 100, Rank.VIP: 300}

# Progress messages are sent when a value crosses one of these steps of its threshold.
PROGRESS_STEPS = 10


def round_experience(bet: int) -> int:
    """XP for one settled round: bet // 10, clamped to [1, 50]."""
    return max(ROUND_XP_MIN, min(ROUND_XP_MAX, bet // XP_PER_BET_GOLD))


def streak_day_for_claim(
    last_claim_date: date | None, current_streak: int, today: date, grace_days: int
) -> int:
    """The streak day a claim made ``today`` counts as (1 = a new streak).

    The streak continues when the last claim was yesterday, or up to ``grace_days`` days earlier.
    The caller refuses a claim when ``last_claim_date`` is today (or later).
    """
    if last_claim_date is None or current_streak == 0:
        return 1
    gap = (today - last_claim_date).days
    return current_streak + 1 if 1 <= gap <= 1 + grace_days else 1


def streak_is_alive(
    last_claim_date: date | None, current_streak: int, today: date, grace_days: int
) -> bool:
    """Whether the streak still counts today: claimed today, or the next claim continues it."""
    if last_claim_date is None or current_streak == 0:
        return False
    return (today - last_claim_date).days <= 1 + grace_days


def streak_reward_for(streak_day: int, table: list[tuple[int, int]]) -> int:
    """Gold of the row with the largest day ≤ ``streak_day``; past the last row, its gold (cap).

    ``table`` is ``[(day, gold), …]`` in any order; no row at or below the day pays 0.
    """
    eligible = [gold for day, gold in sorted(table) if day <= streak_day]
    return eligible[-1] if eligible else 0


def rank_index(rank: str) -> int:
    return RANK_ORDER.index(rank) if rank in RANK_ORDER else 0


def rank_for_points(points: int, premium_points: int, vip_points: int) -> str:
    """The rank earned by ``points`` VIP points."""
    if points >= vip_points:
        return Rank.VIP
    if points >= premium_points:
        return Rank.PREMIUM
    return Rank.STANDARD


def vip_points_for_purchase(price_cents: int) -> int:
    """1 VIP point per 100 cents of money spent (gold-priced purchases earn none)."""
    return max(0, price_cents) // CENTS_PER_VIP_POINT


def progress_step(value: int, threshold: int) -> int:
    """Which tenth of ``threshold`` ``value`` has reached (0 … 10)."""
    if threshold <= 0:
        return PROGRESS_STEPS
    return min(PROGRESS_STEPS, value * PROGRESS_STEPS // threshold)
