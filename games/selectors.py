"""Reads of games data: configuration, fairness, stats, history, leaderboards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from accounts.items import item_public
from accounts.selectors import equipped_for_users, item_names, play_block_get
from games import engine
from games.defaults import DAILY_LIMITS, default_engine
from games.models import (
    CrashChainHash,
    CrashPhase,
    CrashRound,
    DailyPlayCount,
    FairSeed,
    Game,
    GameConfig,
    GameConfigActivation,
    GameRound,
    LeaderboardEntry,
    LeaderboardPeriod,
    PlayerGameStats,
    RoundState,
)

ENGINE_CONFIG_CLASSES: dict[str, Any] = {
    Game.SLOT: engine.SlotConfig,
    Game.CRASH: engine.CrashConfig,
    Game.GACHA: engine.GachaConfig,
    Game.RPS: engine.RpsConfig,
}


_ENGINE_CONFIGS: dict[int, Any] = {}  # by GameConfig pk: a stored version never changes


RARITY_LABELS = {
    "common": pgettext_lazy("gacha rarity", "Common"),
    "rare": pgettext_lazy("gacha rarity", "Rare"),
    "epic": pgettext_lazy("gacha rarity", "Epic"),
    "legendary": pgettext_lazy("gacha rarity", "Legendary"),
}


def rarity_label(rarity: str) -> str:
    """A gacha rarity's name in the active language ("common" → "Common" / "일반")."""
    return str(RARITY_LABELS.get(rarity, rarity))


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


# The live version: the latest activation whose time has come (not cancelled); a game whose
# versions were never activated (stored before activations existed) plays its newest version.
# Drafting a version first records the live one as activated (``game_config_draft_create``), so a
# draft is never live by being the newest.
_LIVE_CONFIG_ID_SQL = """COALESCE(
    (SELECT config_id FROM games_gameconfigactivation
      WHERE game = %s AND cancelled_at IS NULL AND activates_at <= %s
      ORDER BY activates_at DESC, id DESC LIMIT 1),
    (SELECT id FROM games_gameconfig WHERE game = %s
      AND NOT EXISTS (SELECT 1 FROM games_gameconfigactivation WHERE game = %s)
      ORDER BY version DESC LIMIT 1)
)"""


def game_config_live_id_sql(game: str) -> tuple[str, list[Any]]:
    """The live version's id as an SQL expression with its parameters, for a statement that
    reads the configuration with other things (the round's first statement)."""
    return _LIVE_CONFIG_ID_SQL, [game, timezone.now(), game, game]


def game_config_live(game: str) -> GameConfig | None:
    """The live configuration version of ``game``, or None before its first round (no rows)."""
    # Every round asks: a raw query (no ORM query to compile; converters still apply).
    id_sql, params = game_config_live_id_sql(game)
    live = GameConfig.objects.raw(f"SELECT * FROM games_gameconfig WHERE id = {id_sql}", params)  # noqa: S608
    return next(iter(live), None)


def game_config_current(game: str) -> GameConfig:
    """The live configuration version of ``game``; version 1 is created from the defaults."""
    config = game_config_live(game)
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
        rows = published["extra"]["item_drop_rates"]
        names = item_names([row["item"] for row in rows])
        for row in rows:
            row.update(item_public(row["item"], names[row["item"]]))
    return {
        "game": game,
        "config_version": config.version,
        **published,
        # The engine configuration the figures come from: anyone can recompute a round with it.
        "config": engine_public(config.engine),
    }


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


# ---------------------------------------------------------------- configuration review

_ODDS_CALCULATORS: dict[str, Callable[[Any], engine.Odds]] = {
    Game.SLOT: engine.slot_odds,
    Game.CRASH: engine.crash_odds,
    Game.GACHA: engine.gacha_odds,
    Game.RPS: engine.rps_odds,
}


def config_odds(game: str, engine_data: dict[str, Any]) -> engine.Odds:
    """Exact odds of an engine configuration (stored or draft). Raises ``ValueError``,
    ``TypeError`` or ``KeyError`` for an invalid one."""
    parsed = ENGINE_CONFIG_CLASSES[game].from_dict(engine_data)
    parsed.validate()
    return _ODDS_CALCULATORS[game](parsed)


def rtp_in_band(rtp: Fraction) -> bool:
    """Whether an exact RTP lies inside ``GAME_CONFIG_RTP_BAND`` (percent, inclusive)."""
    low, high = settings.GAME_CONFIG_RTP_BAND
    percent = rtp * 100
    return Fraction(str(low)) <= percent <= Fraction(str(high))


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key in value:
            flat.update(_flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(value, list):
        flat = {}
        for index, item in enumerate(value):
            flat.update(_flatten(item, f"{prefix}[{index}]"))
        return flat
    return {prefix: value}


def config_as_dict(config: GameConfig) -> dict[str, Any]:
    """Everything a version sets, as the review compares it."""
    return {
        "engine": config.engine,
        "min_bet": config.min_bet,
        "max_bet": config.max_bet,
        "daily_limits": config.daily_limits,
    }


def config_diff(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(path, before, after) for every leaf that differs; a missing side is None."""
    old, new = _flatten(before), _flatten(after)
    return [
        (path, old.get(path), new.get(path))
        for path in sorted(old.keys() | new.keys())
        if old.get(path) != new.get(path)
    ]


def game_config_versions(game: str) -> list[GameConfig]:
    """Every version of ``game``, newest first."""
    return list(
        GameConfig.objects.filter(game=game)
        .select_related("created_by", "approved_by")
        .order_by("-version")
    )


def game_config_activations(game: str, limit: int = 50) -> list[GameConfigActivation]:
    """The latest activations of ``game`` (scheduled, live, past, cancelled), newest first."""
    return list(
        GameConfigActivation.objects.filter(game=game)
        .select_related("config", "created_by")
        .order_by("-activates_at", "-id")[:limit]
    )


def rounds_for_export(user: Any) -> list[dict[str, Any]]:
    """The player's rounds for ``Export my data``: settled rounds with their outcome; an open
    round without it (a crash round's outcome is its secret crash point until it ends)."""
    rows = []
    for round_ in GameRound.objects.filter(user_id=user.pk).order_by("pk").iterator():
        is_open = round_.state == RoundState.OPEN
        rows.append(
            {
                "id": round_.pk,
                "game": round_.game,
                "bet": round_.bet,
                "payout": round_.payout,
                "multiplier_x100": round_.multiplier_x100,
                "state": round_.state,
                "params": round_.params,
                "outcome": None if is_open else round_.outcome,
                "nonce": round_.nonce,
                "created_at": round_.created_at,
                "settled_at": round_.settled_at,
            }
        )
    return rows


# ---------------------------------------------------------------- crash: the shared round


def crash_round_public(round_: CrashRound) -> dict[str, Any]:
    """A shared round as anyone may see it: its hash and crash point only once it has ended."""
    crash = engine_config(round_.config)
    ended = round_.phase in (CrashPhase.BUSTED, CrashPhase.VOIDED)
    return {
        "id": round_.pk,
        "phase": round_.phase,
        "chain_id": round_.chain_id,
        "position": round_.position,
        "betting_ends_at": round_.betting_ends_at.isoformat(),
        "started_at": round_.started_at.isoformat() if round_.started_at else None,
        "ended_at": round_.ended_at.isoformat() if round_.ended_at else None,
        "growth_per_ms": crash.growth_per_ms,
        "max_multiplier": crash.max_multiplier_x100 / 100,
        "crash_point": round_.crash_x100 / 100 if ended else None,
        "hash": round_.hash if ended else None,
        "bets_count": round_.bets_count,
    }


def _crash_bets_public(round_id: int) -> list[dict[str, Any]]:
    """The round's bets, largest first: nickname, amount, cash-out (null until cashed out)."""
    rows = (
        GameRound.objects.filter(crash_round_id=round_id)
        .order_by("-bet", "pk")
        .values_list("user__nickname", "bet", "params", "state", "outcome", "payout")
    )
    return [
        {
            "nickname": nickname,
            "amount": bet,
            "auto_cashout": (
                None
                if params.get("auto_cashout_x100") is None
                else params["auto_cashout_x100"] / 100
            ),
            "cashout": (
                outcome["cashout_x100"] / 100 if outcome.get("cashout_x100") is not None else None
            ),
            "win": payout,
            "state": state,
        }
        for nickname, bet, params, state, outcome, payout in rows
    ]


def crash_busts_recent(limit: int = 20) -> list[dict[str, Any]]:
    """The last ``limit`` busted rounds, newest first: id, crash point, hash, time."""
    rows = (
        CrashRound.objects.filter(phase=CrashPhase.BUSTED)
        .order_by("-pk")
        .values_list("pk", "crash_x100", "hash", "ended_at")[:limit]
    )
    return [
        {
            "id": pk,
            "crash_point": crash / 100,
            "hash": link,
            "ended_at": ended.isoformat() if ended else None,  # always set once busted
        }
        for pk, crash, link, ended in rows
    ]


def crash_state_get() -> dict[str, Any]:
    """What the crash page and a new socket subscriber start from: the live round (or the last
    one while the next has not opened), its bets, the last 20 busts and the server's clock."""
    round_ = CrashRound.objects.select_related("config").order_by("-pk").first()
    return {
        "server_time": timezone.now().isoformat(),
        "round": crash_round_public(round_) if round_ is not None else None,
        "bets": _crash_bets_public(round_.pk) if round_ is not None else [],
        "busts": crash_busts_recent(),
    }


def crash_round_detail_get(round_id: int) -> dict[str, Any] | None:
    """A finished shared round with what verifies it (hash, the link it hashes to, the salt) and
    every bet; None for an unknown round or one still betting or running."""
    round_ = (
        CrashRound.objects.select_related("config", "chain")
        .filter(pk=round_id, phase__in=[CrashPhase.BUSTED, CrashPhase.VOIDED])
        .first()
    )
    if round_ is None:
        return None
    previous = CrashChainHash.objects.filter(
        chain_id=round_.chain_id, position=round_.position - 1
    ).values_list("hash", flat=True)
    crash = engine_config(round_.config)
    return {
        **crash_round_public(round_),
        "previous_hash": previous.first(),
        "terminal_hash": round_.chain.terminal_hash,
        "salt": round_.chain.salt,
        "salt_source": round_.chain.salt_source,
        "house_edge_bp": crash.house_edge_bp,
        "bets": _crash_bets_public(round_.pk),
    }


def crash_round_previous_hash(round_: CrashRound) -> str | None:
    """The chain link a finished round's hash hashes to (the previous round's hash; the terminal
    hash for a chain's first round); None while the round is betting or running."""
    if round_.phase not in (CrashPhase.BUSTED, CrashPhase.VOIDED):
        return None
    return (
        CrashChainHash.objects.filter(chain_id=round_.chain_id, position=round_.position - 1)
        .values_list("hash", flat=True)
        .first()
    )
