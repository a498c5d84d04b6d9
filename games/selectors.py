"""Reads of games data: configuration, fairness, stats, history, leaderboards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from accounts.items import item_public
from accounts.selectors import equipped_for_users
from games import engine
from games.defaults import DAILY_LIMITS, default_engine
from games.models import (
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


# Internal figures of a configuration that players never see: an item's gold value is a bound for
# validation, not a price (items cannot be sold back; docs/decisions/0200-...).
PRIVATE_ENGINE_KEYS = frozenset({"item_values"})


def engine_public(engine_data: dict[str, Any]) -> dict[str, Any]:
    """A stored engine configuration as players may see it (enough to recompute any round)."""
    return {key: value for key, value in engine_data.items() if key not in PRIVATE_ENGINE_KEYS}


def odds_for(game: str) -> dict[str, Any]:
    config = game_config_current(game)
    calculators: dict[str, Callable[[Any], engine.Odds]] = {
        Game.SLOT: engine.slot_odds,
        Game.CRASH: engine.crash_odds,
        Game.GACHA: engine.gacha_odds,
        Game.RPS: engine.rps_odds,
    }
    odds = calculators[game](engine_config(config))
    published = odds.to_dict()
    if game == Game.GACHA:  # items by the names players know them by (codes stay for the API)
        for row in published["extra"]["item_drop_rates"]:
            row.update(item_public(row["item"]))
    return {
        "game": game,
        "config_version": config.version,
        **published,
        # The engine configuration the figures come from: anyone can recompute a round with it.
        "config": engine_public(config.engine),
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
    entries = list(
        LeaderboardEntry.objects.filter(period=period, period_start=period_start(period, today))
        .select_related("user")
        .order_by(field, "user_id")[:limit]
    )
    equipped = equipped_for_users([entry.user_id for entry in entries])
    return [
        {
            "rank": index + 1,
            "user_id": entry.user_id,
            "nickname": entry.user.nickname,
            "net_win": entry.net_win,
            "best_multiplier": entry.best_multiplier_x100 / 100,
            "rounds": entry.rounds,
            "equipped": equipped.get(entry.user_id, []),
        }
        for index, entry in enumerate(entries)
    ]
