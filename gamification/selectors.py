"""Reads of progression data, shaped for the API. No locks, no writes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from accounts.selectors import inventory_has, item_names, rank_label
from casinoclub.i18n import localized
from gamification import rules
from gamification.achievements import metric_value
from gamification.models import (
    Achievement,
    AchievementUnlock,
    BattlePassClaim,
    Metric,
    PlayerProgress,
    Season,
    SeasonProgress,
    StreakClaim,
    StreakReward,
    StreakState,
    Tier,
    Track,
    VipClaim,
)


def streak_grace_days() -> int:
    return int(settings.STREAK_GRACE_DAYS)


def streak_table() -> list[tuple[int, int]]:
    """The reward table as ``[(day, gold), …]``; the last row is the cap."""
    return list(StreakReward.objects.order_by("day").values_list("day", "gold"))


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def streak_status(user_id: int, today: date | None = None) -> dict[str, Any]:
    """The player's streak as of ``today`` (default: the local calendar day)."""
    today = today or timezone.localdate()
    state = StreakState.objects.filter(user_id=user_id).first()
    return streak_status_of(state, streak_table(), today)


def streak_status_of(
    state: StreakState | None, table: list[tuple[int, int]], today: date
) -> dict[str, Any]:
    """``streak_status`` of a state and reward table the caller has read already."""
    last = state.last_claim_date if state else None
    current = state.current_streak if state else 0
    grace = streak_grace_days()
    claimed_today = last == today
    alive = rules.streak_is_alive(last, current, today, grace)
    next_day = (
        current + 1 if claimed_today else rules.streak_day_for_claim(last, current, today, grace)
    )
    return {
        "today": today,
        "current_streak": current if alive else 0,
        "best_streak": state.best_streak if state else 0,
        "last_claim_date": last,
        "claimed_today": claimed_today,
        "next_streak_day": next_day,
        "next_reward_gold": rules.streak_reward_for(next_day, table),
        "next_claim_at": _local_midnight(today + timedelta(days=1)) if claimed_today else None,
        "grace_days": grace,
    }


def streak_preview(user_id: int, today: date | None = None) -> dict[str, Any]:
    """Today's reward and tomorrow's (assuming today's is claimed, which keeps the streak)."""
    today = today or timezone.localdate()
    status = streak_status(user_id, today)
    table = streak_table()
    claimed = status["claimed_today"]
    today_day = status["current_streak"] if claimed else status["next_streak_day"]
    tomorrow = today + timedelta(days=1)
    return {
        "today": {
            "date": today,
            "streak_day": today_day,
            "reward_gold": rules.streak_reward_for(today_day, table),
            "claimed": status["claimed_today"],
            "claimable": not status["claimed_today"],
        },
        "tomorrow": {
            "date": tomorrow,
            "streak_day": today_day + 1,
            "reward_gold": rules.streak_reward_for(today_day + 1, table),
            "claimable": False,
            "claimable_from": _local_midnight(tomorrow),
        },
        "cap_day": table[-1][0] if table else 0,
    }


def streak_history(user_id: int, year: int, month: int) -> dict[str, Any]:
    """The attendance calendar of one month: the claimed days, in order."""
    claims = list(
        StreakClaim.objects.filter(user_id=user_id, day__year=year, day__month=month).order_by(
            "day"
        )
    )
    return {
        "year": year,
        "month": month,
        "claimed_days": [claim.day.day for claim in claims],
        "claims": [
            {"date": claim.day, "streak_day": claim.streak_day, "reward_gold": claim.reward_gold}
            for claim in claims
        ],
    }


# ---------------------------------------------------------------- VIP


def vip_thresholds() -> dict[str, int]:
    return {"PREMIUM": int(settings.VIP_PREMIUM_POINTS), "VIP": int(settings.VIP_VIP_POINTS)}


def vip_rank_for_points(points: int) -> str:
    thresholds = vip_thresholds()
    return rules.rank_for_points(points, thresholds["PREMIUM"], thresholds["VIP"])


def player_rank(user_id: int) -> str:
    return str(User.objects.values_list("rank", flat=True).get(pk=user_id))


def vip_status(user_id: int, today: date | None = None) -> dict[str, Any]:
    """Rank, points, the next rank and today's claim (``today`` default: the local day)."""
    today = today or timezone.localdate()
    rank, points = User.objects.values_list("rank", "vip_points").get(pk=user_id)
    claimed = VipClaim.objects.filter(user_id=user_id, day=today).exists()
    return vip_status_of(rank, points, today, claimed=claimed)


def vip_status_of(rank: str, points: int, today: date, *, claimed: bool) -> dict[str, Any]:
    """``vip_status`` from what the caller knows (a claim knows the rank and points it left)."""
    thresholds = vip_thresholds()
    index = rules.rank_index(rank)
    next_rank = rules.RANK_ORDER[index + 1] if index + 1 < len(rules.RANK_ORDER) else None
    points_needed = max(0, thresholds[next_rank] - points) if next_rank else None
    return {
        "rank": rank,
        "rank_name": rank_label(rank),
        "vip_points": points,
        "next_rank": next_rank,
        "next_rank_name": rank_label(next_rank) if next_rank else None,
        "points_to_next_rank": points_needed,
        "thresholds": thresholds,
        "daily_points": rules.VIP_DAILY_POINTS[rank],
        "daily_gold": rules.VIP_DAILY_GOLD[rank],
        "claimed_today": claimed,
        "next_claim_at": _local_midnight(today + timedelta(days=1)) if claimed else None,
    }


# ---------------------------------------------------------------- achievements


def _achievement_public(achievement: Achievement) -> dict[str, Any]:
    return {
        "code": achievement.code,
        "name": localized(achievement, "name"),
        "description": localized(achievement, "description"),
        "metric": achievement.metric,
        "threshold": achievement.threshold,
        "reward_gold": achievement.reward_gold,
        "reward_xp": achievement.reward_xp,
    }


def achievements_list() -> list[dict[str, Any]]:
    """The active catalog."""
    return [_achievement_public(a) for a in Achievement.objects.filter(is_active=True)]


def achievement_progress_display(metric: str, value: int, threshold: int) -> dict[str, Any]:
    """Progress in the player's units: ``unit`` "multiplier" (× values, stored ×100), "gold" or
    "count". A count or sum stops at its target ("1 / 1"); a best multiplier is a record and shows
    as reached ("12.00× / 10×")."""
    if metric == Metric.BIGGEST_MULTIPLIER:
        return {
            "unit": "multiplier",
            "progress_value": value / 100,
            "progress_target": threshold / 100,
        }
    unit = "gold" if metric in (Metric.CUMULATIVE_BET, Metric.TOTAL_WIN) else "count"
    return {"unit": unit, "progress_value": min(value, threshold), "progress_target": threshold}


def achievements_for_player(user_id: int) -> list[dict[str, Any]]:
    """Every active achievement with the player's value, progress (percent) and unlock time.

    Also lists achievements the player unlocked that staff later deactivated.
    """
    progress = PlayerProgress.objects.filter(user_id=user_id).first() or PlayerProgress(
        user_id=user_id
    )
    unlocked = dict(
        AchievementUnlock.objects.filter(user_id=user_id).values_list(
            "achievement_id", "unlocked_at"
        )
    )
    rows = []
    for achievement in Achievement.objects.all():
        if not achievement.is_active and achievement.pk not in unlocked:
            continue
        value = metric_value(achievement.metric, progress)
        unlocked_at = unlocked.get(achievement.pk)
        rows.append(
            {
                **_achievement_public(achievement),
                "value": value,
                **achievement_progress_display(achievement.metric, value, achievement.threshold),
                "progress_percent": 100
                if unlocked_at
                else min(100, value * 100 // achievement.threshold),
                "unlocked": unlocked_at is not None,
                "unlocked_at": unlocked_at,
            }
        )
    return rows


def player_progress_get(user_id: int) -> PlayerProgress | None:
    return PlayerProgress.objects.filter(user_id=user_id).first()


# ---------------------------------------------------------------- battle pass


def season_current(now: datetime | None = None) -> Season | None:
    """The latest started season that has not ended."""
    now = now or timezone.now()
    return Season.objects.filter(starts_at__lte=now, ends_at__gt=now).order_by("-starts_at").first()


def season_xp(user_id: int, season_id: int) -> int:
    xp = (
        SeasonProgress.objects.filter(user_id=user_id, season_id=season_id)
        .values_list("xp", flat=True)
        .first()
    )
    return int(xp or 0)


def _track(
    tier: Tier,
    track: str,
    claimed: set[tuple[int, str]],
    is_open: bool,
    names: dict[str, str],
) -> dict[str, Any]:
    gold = tier.free_reward_gold if track == Track.FREE else tier.premium_reward_gold
    item = tier.free_reward_item if track == Track.FREE else tier.premium_reward_item
    is_claimed = (tier.pk, track) in claimed
    return {
        "reward_gold": gold,
        "reward_item": item or None,
        "reward_item_name": names[item] if item else None,
        "claimed": is_claimed,
        "claimable": is_open and not is_claimed,
    }


def battle_pass_get(user_id: int, now: datetime | None = None) -> dict[str, Any]:
    """The current season with every tier's state per track (``season`` is null between seasons)."""
    season = season_current(now)
    if season is None:
        return {"season": None, "xp": 0, "premium_unlocked": False, "tiers": []}
    xp = season_xp(user_id, season.pk)
    premium = inventory_has(user_id, season.premium_item_code)
    claimed = set(
        BattlePassClaim.objects.filter(user_id=user_id, tier__season=season).values_list(
            "tier_id", "track"
        )
    )
    season_tiers = list(season.tiers.order_by("number"))
    names = item_names(
        [
            code
            for tier in season_tiers
            for code in (tier.free_reward_item, tier.premium_reward_item)
        ]
    )
    tiers = []
    for tier in season_tiers:
        unlocked = xp >= tier.xp_required
        tiers.append(
            {
                "number": tier.number,
                "xp_required": tier.xp_required,
                "unlocked": unlocked,
                "free": _track(tier, Track.FREE, claimed, unlocked, names),
                "premium": _track(tier, Track.PREMIUM, claimed, unlocked and premium, names),
            }
        )
    return {
        "season": {
            "code": season.code,
            "name": localized(season, "name"),
            "starts_at": season.starts_at,
            "ends_at": season.ends_at,
            "premium_item_code": season.premium_item_code,
        },
        "xp": xp,
        "premium_unlocked": premium,
        "tiers": tiers,
    }


def seasons_overlapping(start: datetime, end: datetime) -> list[Season]:
    """Battle-pass seasons running at some moment of [start, end), by start (the calendar)."""
    return list(
        Season.objects.filter(starts_at__lt=end, ends_at__gt=start).order_by("starts_at", "id")
    )
