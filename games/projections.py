"""Game projections of settled rounds: per-game player stats and the three leaderboards.

Both are set-based: a batch of ``round_settled`` events is folded in Python into one row per
(player, game) or (period, period start, player), then written by ONE ``INSERT … SELECT FROM
unnest(…) ON CONFLICT`` per table. The gacha pity counter on the stats row is game state, not a
projection: the gacha round keeps it in its own transaction, and these projections never touch it.
A round counts in the leaderboard periods of the day its event was written (``TIME_ZONE``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.services import wallets_lock
from casinoclub.projections import Event, Projection
from casinoclub.realtime.services import realtime_publish
from games import metrics
from games.models import LeaderboardEntry, LeaderboardPeriod, PlayerGameStats
from games.selectors import period_start

STATS = "game_stats"
LEADERBOARDS = "leaderboards"
_ROUND = frozenset({"round_settled"})


@dataclass
class _StatsFold:
    """A run of one player's rounds of one game, in log order."""

    plays: int = 0
    wins: int = 0
    losses: int = 0
    ties: int = 0
    total_bet: int = 0
    total_won: int = 0
    max_win: int = 0
    max_multiplier_x100: int = 0
    leading_wins: int = 0  # wins before the first round that was not a win
    best_run: int = 0  # the longest run of wins inside the batch
    trailing_wins: int = 0  # wins since the last round that was not a win
    runs: list[int] = field(default_factory=list)

    def add(self, bet: int, payout: int, multiplier_x100: int) -> None:
        is_win = payout > bet
        if self.plays == self.wins and is_win:
            self.leading_wins += 1
        self.plays += 1
        self.wins += int(is_win)
        self.losses += int(payout < bet)
        self.ties += int(payout == bet)
        self.total_bet += bet
        self.total_won += payout
        self.max_win = max(self.max_win, payout)
        self.max_multiplier_x100 = max(self.max_multiplier_x100, multiplier_x100)
        self.trailing_wins = self.trailing_wins + 1 if is_win else 0
        self.best_run = max(self.best_run, self.trailing_wins)


def _stats_fold(events: Iterable[Event]) -> dict[tuple[int, str], _StatsFold]:
    folds: dict[tuple[int, str], _StatsFold] = defaultdict(_StatsFold)
    for event in events:
        payload = event.payload
        folds[(event.user_id, payload["game"])].add(
            int(payload["bet"]), int(payload["payout"]), int(payload["multiplier_x100"])
        )
    return folds


_STATS_UPSERT = """
WITH batch AS (
    SELECT * FROM unnest(%(users)s::bigint[], %(games)s::text[], %(plays)s::bigint[],
        %(wins)s::bigint[], %(losses)s::bigint[], %(ties)s::bigint[], %(total_bet)s::bigint[],
        %(total_won)s::bigint[], %(max_win)s::bigint[], %(max_multiplier)s::int[],
        %(leading)s::int[], %(best_run)s::int[], %(trailing)s::int[])
        AS b(user_id, game, plays, wins, losses, ties, total_bet, total_won, max_win,
             max_multiplier_x100, leading_wins, best_run, trailing_wins)
)
INSERT INTO games_playergamestats AS s (user_id, game, plays, wins, losses, ties, total_bet,
    total_won, max_win, max_multiplier_x100, current_win_streak, best_win_streak, gacha_pity)
SELECT user_id, game, plays, wins, losses, ties, total_bet, total_won, max_win,
    max_multiplier_x100, trailing_wins, best_run, 0
FROM batch ORDER BY user_id, game
ON CONFLICT (user_id, game) DO UPDATE SET
    plays = s.plays + EXCLUDED.plays,
    wins = s.wins + EXCLUDED.wins,
    losses = s.losses + EXCLUDED.losses,
    ties = s.ties + EXCLUDED.ties,
    total_bet = s.total_bet + EXCLUDED.total_bet,
    total_won = s.total_won + EXCLUDED.total_won,
    max_win = GREATEST(s.max_win, EXCLUDED.max_win),
    max_multiplier_x100 = GREATEST(s.max_multiplier_x100, EXCLUDED.max_multiplier_x100),
    current_win_streak = CASE WHEN EXCLUDED.wins = EXCLUDED.plays
        THEN s.current_win_streak + EXCLUDED.plays ELSE EXCLUDED.current_win_streak END,
    best_win_streak = GREATEST(s.best_win_streak, EXCLUDED.best_win_streak,
        s.current_win_streak + (SELECT b.leading_wins FROM batch b
                                WHERE b.user_id = s.user_id AND b.game = s.game))
RETURNING user_id, game, plays, wins, losses, ties, total_bet, total_won, max_win,
    max_multiplier_x100, current_win_streak, best_win_streak
"""
_STATS_NAMES = (
    "plays", "wins", "losses", "ties", "total_bet", "total_won", "max_win",
    "max_multiplier_x100", "current_win_streak", "best_win_streak",
)  # fmt: skip


def game_stats_apply(events: list[Event]) -> None:
    """Fold a batch of settled rounds into the stats rows (one statement) and send each player one
    ``progress_update`` with the stats of the games the batch changed. Runs in the batch's
    transaction (``casinoclub.projections``)."""
    started = time.perf_counter()
    folds = sorted(_stats_fold(events).items())
    if not folds:
        return
    # the lock order of every money transaction: wallet first, then the player's own rows (the
    # gacha round locks its stats row, and every round its message cursor, after its wallet)
    wallets_lock({user_id for (user_id, _game), _fold in folds})
    params: dict[str, list[Any]] = {
        name: [] for name in ("users", "games", "plays", "wins", "losses", "ties", "total_bet",
                              "total_won", "max_win", "max_multiplier", "leading", "best_run",
                              "trailing")
    }  # fmt: skip
    for (user_id, game), fold in folds:
        params["users"].append(user_id)
        params["games"].append(game)
        params["plays"].append(fold.plays)
        params["wins"].append(fold.wins)
        params["losses"].append(fold.losses)
        params["ties"].append(fold.ties)
        params["total_bet"].append(fold.total_bet)
        params["total_won"].append(fold.total_won)
        params["max_win"].append(fold.max_win)
        params["max_multiplier"].append(fold.max_multiplier_x100)
        params["leading"].append(fold.leading_wins)
        params["best_run"].append(fold.best_run)
        params["trailing"].append(fold.trailing_wins)
    with connection.cursor() as cursor:
        cursor.execute(_STATS_UPSERT, params)
        rows = cursor.fetchall()
    by_player: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        stats = dict(zip(_STATS_NAMES, row[2:], strict=True))
        stats["net"] = stats["total_won"] - stats["total_bet"]
        by_player[row[0]].append({"game": row[1], "stats": stats})
    for user_id, games in sorted(by_player.items()):
        realtime_publish(user_id, "progress_update", {"stats": games})
    elapsed_ms = (time.perf_counter() - started) * 1000
    transaction.on_commit(lambda: metrics.game_stats_update_latency_ms.observe(elapsed_ms))


def _leaderboard_fold(events: Iterable[Event]) -> dict[tuple[str, date, int], list[int]]:
    """(period, period start, player) → [net win, best multiplier, rounds]."""
    rows: dict[tuple[str, date, int], list[int]] = {}
    for event in events:
        payload = event.payload
        day = timezone.localdate(event.created_at)
        net = int(payload["payout"]) - int(payload["bet"])
        multiplier = int(payload["multiplier_x100"])
        for period in LeaderboardPeriod.values:
            key = (period, period_start(period, day), event.user_id)
            row = rows.setdefault(key, [0, 0, 0])
            row[0] += net
            row[1] = max(row[1], multiplier)
            row[2] += 1
    return rows


def leaderboards_apply(events: list[Event]) -> None:
    """Fold a batch of settled rounds into the leaderboard rows: one statement per batch."""
    rows = sorted(_leaderboard_fold(events).items())
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO games_leaderboardentry AS e"
            " (period, period_start, user_id, net_win, best_multiplier_x100, rounds)"
            " SELECT * FROM unnest(%s::text[], %s::date[], %s::bigint[], %s::bigint[],"
            " %s::int[], %s::bigint[])"
            " ON CONFLICT (period, period_start, user_id) DO UPDATE SET"
            " net_win = e.net_win + EXCLUDED.net_win, rounds = e.rounds + EXCLUDED.rounds,"
            " best_multiplier_x100 ="
            " GREATEST(e.best_multiplier_x100, EXCLUDED.best_multiplier_x100)",
            [
                [key[0] for key, _ in rows],
                [key[1] for key, _ in rows],
                [key[2] for key, _ in rows],
                [value[0] for _, value in rows],
                [value[1] for _, value in rows],
                [value[2] for _, value in rows],
            ],
        )


# ---------------------------------------------------------------- rebuild and check


def _all_round_events() -> list[Event]:
    from casinoclub.projections import events_of_types

    return events_of_types(_ROUND)


def game_stats_reset() -> None:
    """Zero the projected columns (the gacha pity is game state and stays)."""
    PlayerGameStats.objects.update(**dict.fromkeys(_STATS_NAMES, 0))


def game_stats_differences() -> list[str]:
    expected = {
        key: (
            fold.plays,
            fold.wins,
            fold.losses,
            fold.ties,
            fold.total_bet,
            fold.total_won,
            fold.max_win,
            fold.max_multiplier_x100,
            _streak_current(fold),
            fold.best_run,
        )
        for key, fold in _stats_fold(_all_round_events()).items()
    }
    actual = {
        (row[0], row[1]): tuple(row[2:])
        for row in PlayerGameStats.objects.values_list("user_id", "game", *_STATS_NAMES)
    }
    differences = []
    for key in sorted(set(expected) | set(actual)):
        want = expected.get(key, (0,) * len(_STATS_NAMES))
        have = actual.get(key, (0,) * len(_STATS_NAMES))
        if want != have:
            differences.append(f"{STATS} {key}: expected {want}, found {have}")
    return differences


def _streak_current(fold: _StatsFold) -> int:
    return fold.trailing_wins


def leaderboards_reset() -> None:
    LeaderboardEntry.objects.all().delete()


def leaderboards_differences() -> list[str]:
    """Compare the kept rows; daily rows older than the retention purge are gone by design."""
    expected = {key: tuple(value) for key, value in _leaderboard_fold(_all_round_events()).items()}
    actual = {
        (row[0], row[1], row[2]): tuple(row[3:])
        for row in LeaderboardEntry.objects.values_list(
            "period", "period_start", "user_id", "net_win", "best_multiplier_x100", "rounds"
        )
    }
    kept_from = timezone.localdate() - timedelta(days=settings.LEADERBOARD_DAILY_RETENTION_DAYS)
    differences = []
    for key in sorted(set(expected) | set(actual)):
        if key[0] == LeaderboardPeriod.DAILY and key not in actual and key[1] < kept_from:
            continue  # purged by leaderboard_daily_purge
        want, have = expected.get(key), actual.get(key)
        if want != have:
            differences.append(f"{LEADERBOARDS} {key}: expected {want}, found {have}")
    return differences


PROJECTIONS = (
    Projection(
        name=STATS,
        event_types=_ROUND,
        apply=game_stats_apply,
        reset=game_stats_reset,
        differences=game_stats_differences,
    ),
    Projection(
        name=LEADERBOARDS,
        event_types=_ROUND,
        apply=leaderboards_apply,
        reset=leaderboards_reset,
        differences=leaderboards_differences,
    ),
)
