"""Reads of games data: configuration, fairness, stats, history, leaderboards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.selectors import play_block_get
from games import engine
from games.defaults import DAILY_LIMITS, default_engine
from games.models import (
    DailyPlayCount,
    FairSeed,
    Game,
    GameConfig,
    GameRound,
    LeaderboardEntry,
    LeaderboardPeriod,
    PlayerGameStats,
)

ENGINE_CONFIG_CLASSES: dict[str, Any] = {
    Game.SLOT: engine.SlotConfig,
    Game.CRASH: engine.CrashConfig,
    Game.GACHA: engine.GachaConfig,
    Game.RPS: engine.RpsConfig,
}


_ENGINE_CONFIGS: dict[int, Any] = {}  # by GameConfig pk: a stored version never changes


def engine_config(config: GameConfig) -> Any:
    """The engine's configuration object for a stored version (parsed once per process)."""
    parsed = _ENGINE_CONFIGS.get(config.pk)
    if parsed is None:
        parsed = ENGINE_CONFIG_CLASSES[config.game].from_dict(config.engine)
        _ENGINE_CONFIGS[config.pk] = parsed
    return parsed


def engine_config_by_id(config_id: int) -> Any:
    """``engine_config`` of a stored version known by its id (read once per process)."""
    parsed = _ENGINE_CONFIGS.get(config_id)
    if parsed is None:
        parsed = engine_config(GameConfig.objects.get(pk=config_id))
    return parsed


def game_config_current(game: str) -> GameConfig:
    """The newest configuration version of ``game``; version 1 is created from the defaults."""
    # Every round asks: a raw query (no ORM query to compile; converters still apply).
    newest = GameConfig.objects.raw(
        "SELECT * FROM games_gameconfig WHERE game = %s ORDER BY version DESC LIMIT 1", [game]
    )
    config = next(iter(newest), None)
    if config is not None:
        return config
    try:
        with transaction.atomic():
            return GameConfig.objects.create(
                game=game,
                version=1,
                engine=default_engine(game),
                daily_limits=DAILY_LIMITS[game],
                note="default configuration",
            )
    except IntegrityError:  # created concurrently
        return GameConfig.objects.get(game=game, version=1)


def game_config_get(game: str) -> tuple[int, Any]:
    """(version, engine configuration object) of the live configuration of ``game``."""
    config = game_config_current(game)
    return config.version, engine_config(config)


def odds_for(game: str) -> dict[str, Any]:
    config = game_config_current(game)
    calculators: dict[str, Callable[[Any], engine.Odds]] = {
        Game.SLOT: engine.slot_odds,
        Game.CRASH: engine.crash_odds,
        Game.GACHA: engine.gacha_odds,
        Game.RPS: engine.rps_odds,
    }
    odds = calculators[game](engine_config(config))
    return {"game": game, "config_version": config.version, **odds.to_dict()}


# ---------------------------------------------------------------- daily limits


def daily_reset_at(now: datetime) -> datetime:
    """When today's play counts start again: the next midnight in the configured time zone."""
    tomorrow = timezone.localdate(now) + timedelta(days=1)
    return timezone.make_aware(datetime.combine(tomorrow, time.min))


def play_limits_of(
    config: GameConfig, rank: str, plays_today: int, now: datetime
) -> dict[str, Any]:
    """One game's limits for a player of ``rank`` who played it ``plays_today`` times today.

    ``daily_limit`` and ``plays_left`` are None when the rank plays without limit. ``min_bet`` /
    ``max_bet`` are the accepted bet range; for gacha, the price of one pull and of ten.
    """
    limit = int(config.daily_limits.get(rank, 0)) or None
    if config.game == Game.GACHA:
        gacha = engine_config(config)
        min_bet, max_bet = gacha.price, gacha.ten_pull_price
    else:
        min_bet, max_bet = config.min_bet, config.max_bet
    return {
        "game": config.game,
        "daily_limit": limit,
        "plays_today": plays_today,
        "plays_left": None if limit is None else max(0, limit - plays_today),
        "resets_at": daily_reset_at(now).isoformat(),
        "min_bet": min_bet,
        "max_bet": max_bet,
    }


def play_limits_get(user: Any, game: str, now: datetime | None = None) -> dict[str, Any]:
    """``play_limits_of`` the live configuration of ``game`` with today's count read."""
    now = now or timezone.now()
    plays_today = (
        DailyPlayCount.objects.filter(user_id=user.pk, game=game, day=timezone.localdate(now))
        .values_list("count", flat=True)
        .first()
    )
    return play_limits_of(game_config_current(game), user.rank, plays_today or 0, now)


def play_limits_list(user: Any, now: datetime | None = None) -> dict[str, Any]:
    """Every game's limits today, when they reset and the running cool-off or exclusion (or None).

    What the pages show before a play: plays left, the bet range, and why play is stopped.
    """
    now = now or timezone.now()
    counts = dict(
        DailyPlayCount.objects.filter(user_id=user.pk, day=timezone.localdate(now)).values_list(
            "game", "count"
        )
    )
    configs = {
        config.game: config
        for config in GameConfig.objects.order_by("game", "-version").distinct("game")
    }
    return {
        "resets_at": daily_reset_at(now).isoformat(),
        "play_block": play_block_get(user.pk),
        "games": {
            game: play_limits_of(
                configs.get(game) or game_config_current(game),
                user.rank,
                counts.get(game, 0),
                now,
            )
            for game in Game.values
        },
    }


def fair_seed_active(user_id: int) -> FairSeed | None:
    return FairSeed.objects.filter(user_id=user_id, is_active=True).first()


def round_get_for_user(user_id: int, round_id: int) -> GameRound | None:
    return (
        GameRound.objects.select_related("fair_seed", "config")
        .filter(pk=round_id, user_id=user_id)
        .first()
    )


def round_list(user_id: int, game: str | None = None) -> QuerySet[GameRound]:
    rounds = GameRound.objects.filter(user_id=user_id).order_by("-id")
    return rounds.filter(game=game) if game else rounds


def stats_list(user_id: int) -> list[PlayerGameStats]:
    return list(PlayerGameStats.objects.filter(user_id=user_id).order_by("game"))


def period_start(period: str, today: date) -> date:
    if period == LeaderboardPeriod.DAILY:
        return today
    if period == LeaderboardPeriod.WEEKLY:
        return today - timedelta(days=today.weekday())
    return date(2000, 1, 1)


def leaderboard_list(period: str, order: str, today: date, limit: int = 50) -> list[dict[str, Any]]:
    field = "-net_win" if order == "net_win" else "-best_multiplier_x100"
    entries = (
        LeaderboardEntry.objects.filter(period=period, period_start=period_start(period, today))
        .select_related("user")
        .order_by(field, "user_id")[:limit]
    )
    return [
        {
            "rank": index + 1,
            "user_id": entry.user_id,
            "nickname": entry.user.nickname,
            "net_win": entry.net_win,
            "best_multiplier": entry.best_multiplier_x100 / 100,
            "rounds": entry.rounds,
        }
        for index, entry in enumerate(entries)
    ]
