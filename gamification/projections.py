"""Progression as a projection of the event log: counters, XP and levels, battle-pass XP,
achievements, purchase counters and VIP points.

Set-based: a batch locks its players' rows once (wallets, then progress rows, then user rows, each
in primary-key order), folds the events in Python in log order — counters, XP and the levels it
reaches, VIP points and ranks, achievements crossed, season XP — and writes each table with ONE
statement: the progress rows (``INSERT … SELECT FROM unnest … ON CONFLICT``), the unlocks, the user
rows (``accounts.services.users_progression_save``) and the season rows. Level-up and achievement
rewards are paid through the ledger service once each, keyed as before (``level-up:<level>``,
``achievement:<code>``). Exactly once by the batch's cursor; the unlock row's unique constraint and
the ledger keys are the second guard. Battle-pass XP counts in the season running at each event's
time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from accounts.models import LedgerReason
from accounts.selectors import inventory_has
from accounts.services import wallet_credit, wallets_lock
from accounts.services.progression import (
    PlayerLevelState,
    users_progression_lock,
    users_progression_save,
)
from casinoclub import domain_events
from casinoclub.projections import Event, Projection
from casinoclub.realtime.messages import AchievementProgressData, AchievementUnlockData
from casinoclub.realtime.services import realtime_publish
from gamification import rules, selectors
from gamification.achievements import EVALUATORS, metric_value
from gamification.models import (
    Achievement,
    AchievementUnlock,
    BattlePassClaim,
    PlayerProgress,
    Season,
    Track,
)

PROGRESSION = "progression"


@dataclass
class _Counters:
    """A player's ``PlayerProgress`` counters (the fields the achievement evaluators read)."""

    rounds_played: int = 0
    total_bet: int = 0
    total_won: int = 0
    current_win_streak: int = 0
    best_win_streak: int = 0
    best_multiplier_x100: int = 0
    purchases: int = 0
    best_streak_days: int = 0

    def metrics(self) -> dict[str, int]:
        progress = PlayerProgress(**{f.name: getattr(self, f.name) for f in fields(self)})
        return {metric: metric_value(metric, progress) for metric in EVALUATORS}


_COUNTERS = tuple(f.name for f in fields(_Counters))


@dataclass
class _Unlock:
    user_id: int
    achievement: Achievement
    value: int


@dataclass
class _Batch:
    """What the batch's events changed, folded in log order."""

    counters: dict[int, _Counters]
    changed_counters: set[int] = field(default_factory=set)
    levels: dict[int, PlayerLevelState] = field(default_factory=dict)
    unlocked: set[tuple[int, int]] = field(default_factory=set)  # (user, achievement)
    unlocks: list[_Unlock] = field(default_factory=list)
    season_xp: dict[tuple[int, int], int] = field(default_factory=lambda: defaultdict(int))
    progress_messages: list[tuple[int, AchievementProgressData]] = field(default_factory=list)
    changed: set[int] = field(default_factory=set)  # players sent their XP and level
    review_flags: list[domain_events.PurchaseReviewFlagged] = field(default_factory=list)


def _counters_lock(user_ids: list[int]) -> dict[int, _Counters]:
    """The players' counters, their existing rows locked in primary-key order (one statement);
    a player without a row starts at zero (the upsert creates it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT user_id, rounds_played, total_bet, total_won, current_win_streak,"
            " best_win_streak, best_multiplier_x100, purchases, best_streak_days"
            " FROM gamification_playerprogress"
            " WHERE user_id = ANY(%s) ORDER BY user_id FOR UPDATE",
            [user_ids],
        )
        found = {row[0]: _Counters(*row[1:]) for row in cursor.fetchall()}
    return {user_id: found.get(user_id) or _Counters() for user_id in user_ids}


def _season_of(seasons: list[Season], at: datetime) -> Season | None:
    """The season running at ``at``: the latest started one not yet ended (``season_current``)."""
    running = [season for season in seasons if season.starts_at <= at < season.ends_at]
    return max(running, key=lambda season: season.starts_at) if running else None


class _Folder:
    def __init__(self, events: list[Event], user_ids: list[int]) -> None:
        self.batch = _Batch(counters=_counters_lock(user_ids))
        self.batch.levels = users_progression_lock(user_ids)
        self.achievements = list(
            Achievement.objects.filter(is_active=True).order_by("display_order", "id")
        )
        self.batch.unlocked = set(
            AchievementUnlock.objects.filter(user_id__in=user_ids).values_list(
                "user_id", "achievement_id"
            )
        )
        earliest, latest = min(e.created_at for e in events), max(e.created_at for e in events)
        self.seasons = list(Season.objects.filter(starts_at__lte=latest, ends_at__gt=earliest))

    def experience(self, user_id: int, amount: int, *, source: str, at: datetime) -> None:
        """``experience_grant``: level XP and the battle pass of the season running at ``at``."""
        if amount <= 0:
            return
        self.batch.levels[user_id].experience_add(amount, source=source)
        self.season_experience(user_id, amount, at=at)

    def season_experience(self, user_id: int, amount: int, *, at: datetime) -> None:
        season = _season_of(self.seasons, at)
        if amount > 0 and season is not None:
            self.batch.season_xp[(user_id, season.pk)] += amount

    def achievements_evaluate(self, user_id: int, before: dict[str, int], at: datetime) -> None:
        """``achievements_evaluate``'s rule on the folded counters: unlock what is reached, send
        progress when a value crosses a tenth of its threshold."""
        counters = self.batch.counters[user_id]
        after = counters.metrics()
        for achievement in self.achievements:
            if (user_id, achievement.pk) in self.batch.unlocked:
                continue
            value = after.get(achievement.metric, 0)
            threshold = achievement.threshold
            if value >= threshold:
                self.batch.unlocked.add((user_id, achievement.pk))
                self.batch.unlocks.append(_Unlock(user_id, achievement, value))
                self.experience(
                    user_id, achievement.reward_xp, source=f"achievement:{achievement.code}", at=at
                )
                unlock_message: AchievementUnlockData = {
                    "code": achievement.code,
                    "name": achievement.name,
                    "metric": achievement.metric,
                    "threshold": threshold,
                    "value": value,
                    "reward_gold": achievement.reward_gold,
                    "reward_xp": achievement.reward_xp,
                }
                realtime_publish(user_id, "achievement_unlock", unlock_message)
                continue
            previous = before.get(achievement.metric, 0)
            if rules.progress_step(value, threshold) > rules.progress_step(previous, threshold):
                progress_message: AchievementProgressData = {
                    "code": achievement.code,
                    "metric": achievement.metric,
                    "value": value,
                    "threshold": threshold,
                    "progress_percent": value * 100 // threshold,
                }
                realtime_publish(user_id, "achievement_progress", progress_message)

    def apply(self, event: Event) -> None:
        fact = domain_events.fact_of(event.type, event.user_id, event.payload)
        user_id, at = fact.user_id, event.created_at
        counters = self.batch.counters[user_id]
        if isinstance(fact, domain_events.RoundSettled):
            before = counters.metrics()
            is_win = fact.payout > fact.bet
            counters.rounds_played += 1
            counters.total_bet += fact.bet
            counters.total_won += fact.payout
            counters.current_win_streak = counters.current_win_streak + 1 if is_win else 0
            counters.best_win_streak = max(counters.best_win_streak, counters.current_win_streak)
            counters.best_multiplier_x100 = max(counters.best_multiplier_x100, fact.multiplier_x100)
            self.batch.changed_counters.add(user_id)
            self.batch.changed.add(user_id)
            self.experience(
                user_id, rules.round_experience(fact.bet), source=f"round:{fact.game}", at=at
            )
            self.achievements_evaluate(user_id, before, at)
        elif isinstance(fact, domain_events.PurchaseSucceeded):
            before = counters.metrics()
            counters.purchases += 1
            self.batch.changed_counters.add(user_id)
            self.batch.changed.add(user_id)
            points = rules.vip_points_for_purchase(fact.price_cents)
            if points:
                self.batch.levels[user_id].vip_points_add(
                    points,
                    rank_for_points=selectors.vip_rank_for_points,
                    source=f"purchase:{fact.receipt}",
                )
            self.achievements_evaluate(user_id, before, at)
        elif isinstance(fact, domain_events.PurchaseReversed):
            counters.purchases = max(0, counters.purchases - 1)
            self.batch.changed_counters.add(user_id)
            self.batch.changed.add(user_id)
            points = rules.vip_points_for_purchase(fact.price_cents)
            if points:
                self.batch.levels[user_id].vip_points_remove(
                    points,
                    rank_for_points=selectors.vip_rank_for_points,
                    source=f"reversal:{fact.receipt}",
                )
            reasons = _reversal_review_reasons(user_id, fact.items_removed)
            if reasons:
                self.batch.review_flags.append(
                    domain_events.PurchaseReviewFlagged(
                        user_id=user_id, receipt=fact.receipt, reasons=tuple(reasons)
                    )
                )
        elif isinstance(fact, domain_events.RewardClaimed) and fact.source in ("mission", "event"):
            # the claim added the level XP itself; its battle-pass XP is added here
            self.batch.changed.add(user_id)
            self.season_experience(user_id, fact.xp, at=at)


def _reversal_review_reasons(user_id: int, items_removed: tuple[tuple[str, int], ...]) -> list[str]:
    """``battle_pass_premium_claimed`` when a removed item was a season's premium pass the player
    no longer owns and premium rewards of that season were already claimed (staff decide)."""
    removed = {code for code, quantity in items_removed if quantity > 0}
    prefix = Season(code="").premium_item_code
    lost_seasons = [
        code.removeprefix(prefix)
        for code in removed
        if code.startswith(prefix) and not inventory_has(user_id, code)
    ]
    if (
        lost_seasons
        and BattlePassClaim.objects.filter(
            user_id=user_id, track=Track.PREMIUM, tier__season__code__in=lost_seasons
        ).exists()
    ):
        return ["battle_pass_premium_claimed"]
    return []


_PROGRESS_UPSERT = """
INSERT INTO gamification_playerprogress AS p (user_id, rounds_played, total_bet, total_won,
    current_win_streak, best_win_streak, best_multiplier_x100, purchases, best_streak_days,
    updated_at)
SELECT b.*, %(now)s FROM unnest(%(users)s::bigint[], %(rounds_played)s::bigint[],
    %(total_bet)s::bigint[], %(total_won)s::bigint[], %(current_win_streak)s::bigint[],
    %(best_win_streak)s::bigint[], %(best_multiplier_x100)s::bigint[], %(purchases)s::bigint[],
    %(best_streak_days)s::bigint[]) AS b
ON CONFLICT (user_id) DO UPDATE SET rounds_played = EXCLUDED.rounds_played,
    total_bet = EXCLUDED.total_bet, total_won = EXCLUDED.total_won,
    current_win_streak = EXCLUDED.current_win_streak, best_win_streak = EXCLUDED.best_win_streak,
    best_multiplier_x100 = EXCLUDED.best_multiplier_x100, purchases = EXCLUDED.purchases,
    best_streak_days = EXCLUDED.best_streak_days, updated_at = EXCLUDED.updated_at
"""


def _counters_save(batch: _Batch) -> None:
    users = sorted(batch.changed_counters)
    if not users:
        return
    params: dict[str, Any] = {"users": users, "now": timezone.now()}
    for name in _COUNTERS:
        params[name] = [getattr(batch.counters[user_id], name) for user_id in users]
    with connection.cursor() as cursor:
        cursor.execute(_PROGRESS_UPSERT, params)


def _unlocks_save(batch: _Batch) -> None:
    """Insert the batch's unlocks (one statement), then pay each once through the ledger."""
    if not batch.unlocks:
        return
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO gamification_achievementunlock (user_id, achievement_id, value,"
            " unlocked_at) SELECT u, a, v, %s FROM unnest(%s::bigint[], %s::bigint[],"
            " %s::bigint[]) AS b(u, a, v) ORDER BY u, a"
            " ON CONFLICT (user_id, achievement_id) DO NOTHING RETURNING user_id, achievement_id",
            [
                now,
                [unlock.user_id for unlock in batch.unlocks],
                [unlock.achievement.pk for unlock in batch.unlocks],
                [unlock.value for unlock in batch.unlocks],
            ],
        )
        inserted = set(cursor.fetchall())
    if len(inserted) != len(batch.unlocks):
        # another writer unlocked one of them meanwhile: the fold was wrong; retry the batch
        raise RuntimeError("achievement unlocked concurrently; the batch is retried")
    for unlock in batch.unlocks:
        achievement = unlock.achievement
        if achievement.reward_gold:
            wallet_credit(
                unlock.user_id,
                achievement.reward_gold,
                reason=LedgerReason.ACHIEVEMENT_REWARD,
                reference=f"achievement:{achievement.code}",
                idempotency_key=f"achievement:{achievement.code}",
            )
        domain_events.domain_event_record(
            domain_events.RewardClaimed(
                user_id=unlock.user_id, source="achievement", gold=achievement.reward_gold
            )
        )


def _season_xp_save(batch: _Batch) -> None:
    rows = sorted(batch.season_xp.items())
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO gamification_seasonprogress AS p (user_id, season_id, xp)"
            " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[])"
            " ON CONFLICT (user_id, season_id) DO UPDATE SET xp = p.xp + EXCLUDED.xp",
            [[key[0] for key, _ in rows], [key[1] for key, _ in rows], [xp for _, xp in rows]],
        )


def progression_apply(events: list[Event]) -> None:
    """Fold the batch in log order and write each table once (see the module's docstring)."""
    user_ids = sorted({event.user_id for event in events})
    wallets_lock(user_ids)  # the money lock order: wallets, then the players' own rows
    folder = _Folder(events, user_ids)
    for event in events:
        folder.apply(event)
    batch = folder.batch
    _counters_save(batch)
    _unlocks_save(batch)
    users_progression_save(batch.levels.values())
    _season_xp_save(batch)
    for flag in batch.review_flags:
        domain_events.domain_event_record(flag)
    # the players' XP and level after the batch, in the batch's one progress_update each
    for user_id in sorted(batch.changed):
        state = batch.levels.get(user_id)
        if state is not None:
            realtime_publish(
                user_id, "progress_update", {"xp": state.experience, "level": state.level}
            )


def progression_differences() -> list[str]:
    """The counters that are sums of the log: rounds, bets, wins and standing purchases.

    (Streaks, XP and achievements depend on each step and on staff grants: not recomputed.)
    """
    from casinoclub.projections import events_of_types
    from gamification.models import PlayerProgress

    expected: dict[int, list[int]] = {}
    for event in events_of_types(frozenset({"round_settled", "purchase_succeeded",
                                            "purchase_reversed"})):  # fmt: skip
        row = expected.setdefault(event.user_id, [0, 0, 0, 0])
        if event.type == "round_settled":
            row[0] += 1
            row[1] += int(event.payload["bet"])
            row[2] += int(event.payload["payout"])
        elif event.type == "purchase_succeeded":
            row[3] += 1
        else:
            row[3] = max(0, row[3] - 1)
    actual = {
        row[0]: list(row[1:])
        for row in PlayerProgress.objects.values_list(
            "user_id", "rounds_played", "total_bet", "total_won", "purchases"
        )
    }
    differences = []
    for user_id in sorted(set(expected) | set(actual)):
        want, have = expected.get(user_id, [0, 0, 0, 0]), actual.get(user_id, [0, 0, 0, 0])
        if want != have:
            differences.append(
                f"{PROGRESSION} user {user_id} (rounds, bet, won, purchases):"
                f" expected {want}, found {have}"
            )
    return differences


PROJECTIONS = (
    Projection(
        name=PROGRESSION,
        event_types=frozenset(
            {"round_settled", "purchase_succeeded", "purchase_reversed", "reward_claimed"}
        ),
        apply=progression_apply,
        differences=progression_differences,
    ),
)
