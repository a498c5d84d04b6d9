"""Progression as a projection of the event log: counters, XP and levels, battle-pass XP,
achievements, purchase counters and VIP points — of rounds, purchases, reversals and claims
(streak and VIP claims: their XP and the best streak; mission and event claims: their battle-pass
XP).

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
from accounts.selectors import experience_for_next_level, inventory_has
from accounts.services import wallet_credit, wallets_lock
from accounts.services.progression import (
    PlayerLevelState,
    level_up_reward,
    users_progression_lock,
    users_progression_save,
)
from casinoclub import domain_events
from casinoclub.i18n import translations
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
    SeasonProgress,
    Track,
)
from gamification.services import achievement_progress_publish

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
    at: datetime  # the time of the event that reached it


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
            " WHERE user_id = ANY(%s) ORDER BY user_id FOR NO KEY UPDATE",
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
                self.batch.unlocks.append(_Unlock(user_id, achievement, value, at))
                self.experience(
                    user_id, achievement.reward_xp, source=f"achievement:{achievement.code}", at=at
                )
                unlock_message: AchievementUnlockData = {
                    "code": achievement.code,
                    "name": achievement.name,
                    "names": translations(achievement, "name"),
                    "metric": achievement.metric,
                    "threshold": threshold,
                    "value": value,
                    "reward_gold": achievement.reward_gold,
                    "reward_xp": achievement.reward_xp,
                }
                realtime_publish(user_id, "achievement_unlock", unlock_message)
                continue
            achievement_progress_publish(
                user_id, achievement, value, before.get(achievement.metric, 0)
            )

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
        elif isinstance(fact, domain_events.RewardClaimed) and fact.source in ("streak", "vip"):
            # the claim logged its XP (level and battle pass) and, for a streak, its streak day;
            # a claim logged without ``xp`` granted its XP in its own transaction
            before = counters.metrics()
            if fact.streak_days > counters.best_streak_days:
                counters.best_streak_days = fact.streak_days
                self.batch.changed_counters.add(user_id)
            self.batch.changed.add(user_id)
            self.experience(user_id, fact.xp, source=fact.source, at=at)
            if fact.source == "streak":
                self.achievements_evaluate(user_id, before, at)


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
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO gamification_achievementunlock (user_id, achievement_id, value,"
            " unlocked_at) SELECT u, a, v, t FROM unnest(%s::bigint[], %s::bigint[],"
            " %s::bigint[], %s::timestamptz[]) AS b(u, a, v, t) ORDER BY u, a"
            " ON CONFLICT (user_id, achievement_id) DO NOTHING RETURNING user_id, achievement_id",
            [
                [unlock.user_id for unlock in batch.unlocks],
                [unlock.achievement.pk for unlock in batch.unlocks],
                [unlock.value for unlock in batch.unlocks],
                [unlock.at for unlock in batch.unlocks],
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


# ---------------------------------------------------------------- check


def _total_experience(level: int, experience: int) -> int:
    return sum(experience_for_next_level(below) for below in range(1, level)) + experience


def _staff_edited_levels() -> set[int]:
    """Players whose level or XP staff set (audited): their XP is not a sum of the log."""
    from django.db.models import Q

    from accounts.models import AuditLogEntry

    edits = AuditLogEntry.objects.filter(
        Q(action="user_progression_change")
        | Q(before__has_key="level")
        | Q(after__has_key="level")
        | Q(before__has_key="experience")
        | Q(after__has_key="experience")
    )
    return set(edits.exclude(target_user=None).values_list("target_user_id", flat=True))


@dataclass
class _Recomputed:
    counters: dict[int, _Counters]
    xp: dict[int, int]  # every XP source's total per player
    sources: list[tuple[int, int, datetime]]  # (player, XP, when): the season XP
    peaks: dict[int, dict[str, int]]  # the highest value each metric reached
    unlocks: list[AchievementUnlock]


def _recomputed(events: list[Event]) -> _Recomputed:
    """Fold the log (and the unlocks) into what progression should hold."""
    counters: dict[int, _Counters] = defaultdict(_Counters)
    xp: dict[int, int] = defaultdict(int)
    sources: list[tuple[int, int, datetime]] = []  # (user, XP, when) for the season XP
    # the highest value each metric reached (an unlock stays when a reversal lowers a counter)
    peaks: dict[int, dict[str, int]] = defaultdict(dict)
    for event in events:
        fact = domain_events.fact_of(event.type, event.user_id, event.payload)
        row = counters[fact.user_id]
        gained = 0
        if isinstance(fact, domain_events.RoundSettled):
            row.rounds_played += 1
            row.total_bet += fact.bet
            row.total_won += fact.payout
            row.current_win_streak = row.current_win_streak + 1 if fact.payout > fact.bet else 0
            row.best_win_streak = max(row.best_win_streak, row.current_win_streak)
            row.best_multiplier_x100 = max(row.best_multiplier_x100, fact.multiplier_x100)
            gained = rules.round_experience(fact.bet)
        elif isinstance(fact, domain_events.PurchaseSucceeded):
            row.purchases += 1
        elif isinstance(fact, domain_events.PurchaseReversed):
            row.purchases = max(0, row.purchases - 1)
        elif isinstance(fact, domain_events.RewardClaimed):
            # a streak or VIP claim logs the XP the projection grants; one logged without it
            # granted the rule's XP in its own transaction (docs/decisions/0152)
            if fact.source == "streak":
                row.best_streak_days = max(row.best_streak_days, fact.streak_days)
                gained = fact.xp or rules.STREAK_CLAIM_XP
            elif fact.source == "vip":
                gained = fact.xp or rules.VIP_CLAIM_XP
            elif fact.source in ("mission", "event"):
                gained = fact.xp
        if gained > 0:
            xp[fact.user_id] += gained
            sources.append((fact.user_id, gained, event.created_at))
        peak = peaks[fact.user_id]
        for metric, value in row.metrics().items():
            peak[metric] = max(peak.get(metric, 0), value)
    unlocks = list(AchievementUnlock.objects.select_related("achievement"))
    for unlock in unlocks:
        if unlock.achievement.reward_xp > 0:
            xp[unlock.user_id] += unlock.achievement.reward_xp
            sources.append((unlock.user_id, unlock.achievement.reward_xp, unlock.unlocked_at))

    return _Recomputed(counters, xp, sources, peaks, unlocks)


def _season_xp_expected(recomputed: _Recomputed) -> dict[tuple[int, int], int]:
    seasons = list(Season.objects.all())
    season_xp: dict[tuple[int, int], int] = defaultdict(int)
    for user_id, amount, at in recomputed.sources:
        season = _season_of(seasons, at)
        if season is not None:
            season_xp[(user_id, season.pk)] += amount
    return season_xp


def _season_xp_found() -> dict[tuple[int, int], int]:
    return {
        (row[0], row[1]): row[2]
        for row in SeasonProgress.objects.values_list("user_id", "season_id", "xp")
    }


def _counters_found() -> dict[int, _Counters]:
    return {
        row[0]: _Counters(*row[1:])
        for row in PlayerProgress.objects.values_list("user_id", *_COUNTERS)
    }


def progression_repair(events: list[Event]) -> int:
    """Write the counters, the season XP and (for players whose level staff never set) the
    level and XP the applied log gives. Pays nothing and takes nothing back: unlocks and level-up
    rewards are ledger facts, compared by ``check_projections`` for staff to settle; a level the
    repair raises pays no reward (``level_rewards_paid_through`` stays), a level it lowers is
    not paid again when reached again."""
    from accounts.models import User
    from accounts.services.progression import users_experience_repair

    recomputed = _recomputed(events)
    found = _counters_found()
    wrong_counters = sorted(
        user_id
        for user_id in set(recomputed.counters) | set(found)
        if recomputed.counters.get(user_id, _Counters()) != found.get(user_id, _Counters())
    )
    season_xp, found_season = _season_xp_expected(recomputed), _season_xp_found()
    wrong_seasons = sorted(
        key
        for key in set(season_xp) | set(found_season)
        if season_xp.get(key, 0) != found_season.get(key, 0)
    )
    edited = _staff_edited_levels()
    totals = {
        user_id: recomputed.xp.get(user_id, 0)
        for user_id, level, experience in User.objects.filter(
            pk__in=set(recomputed.xp)
        ).values_list("pk", "level", "experience")
        if user_id not in edited
        and _total_experience(level, experience) != recomputed.xp.get(user_id, 0)
    }
    users = set(wrong_counters) | {key[0] for key in wrong_seasons} | set(totals)
    if not users:
        return 0
    wallets_lock(users)  # the lock order of every batch and claim
    if wrong_counters:
        batch = _Batch(counters=dict(recomputed.counters), changed_counters=set(wrong_counters))
        for user_id in wrong_counters:
            batch.counters.setdefault(user_id, _Counters())
        _counters_save(batch)
    if wrong_seasons:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO gamification_seasonprogress AS p (user_id, season_id, xp)"
                " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[])"
                " ON CONFLICT (user_id, season_id) DO UPDATE SET xp = EXCLUDED.xp",
                [
                    [key[0] for key in wrong_seasons],
                    [key[1] for key in wrong_seasons],
                    [season_xp.get(key, 0) for key in wrong_seasons],
                ],
            )
    users_experience_repair(totals)
    return len(wrong_counters) + len(wrong_seasons) + len(totals)


def progression_differences() -> list[str]:
    """Recompute progression from the event log, the unlocks and the ledger.

    - counters (rounds, bets, wins, win streaks, best multiplier, purchases, best streak days)
      fold the log in order;
    - XP: rounds, achievement, streak, VIP, mission and event XP add up to the player's level and
      XP (players whose level staff set are skipped), and every level above 1 was paid once,
      ``level-up:<level>`` with its reward (no level above the player's paid);
    - season XP: each source's XP in the season running at its time;
    - achievements: every unlock is deserved (the metric reached its threshold at some point of
      the log) and its gold is in the ledger exactly once (``achievement:<code>``).
    """
    from accounts.models import LedgerEntry, LedgerReason, User
    from casinoclub.projections import events_of_types

    recomputed = _recomputed(events_of_types(PROGRESSION_EVENTS))
    counters, xp, peaks, unlocks = (
        recomputed.counters,
        recomputed.xp,
        recomputed.peaks,
        recomputed.unlocks,
    )
    differences: list[str] = []
    actual = {
        row[0]: _Counters(*row[1:])
        for row in PlayerProgress.objects.values_list("user_id", *_COUNTERS)
    }
    for user_id in sorted(set(counters) | set(actual)):
        want, have = counters.get(user_id, _Counters()), actual.get(user_id, _Counters())
        if want != have:
            differences.append(
                f"{PROGRESSION} user {user_id} counters {_COUNTERS}:"
                f" expected {[getattr(want, n) for n in _COUNTERS]},"
                f" found {[getattr(have, n) for n in _COUNTERS]}"
            )

    edited = _staff_edited_levels()
    level_ups: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for wallet_id, key, delta in LedgerEntry.objects.filter(
        reason=LedgerReason.LEVEL_UP
    ).values_list("wallet_id", "idempotency_key", "delta"):
        level_ups[wallet_id].append((key, delta))
    users = User.objects.filter(pk__in=set(xp) | set(level_ups)).values_list(
        "pk", "level", "experience"
    )
    for user_id, level, experience in users:
        found_total = _total_experience(level, experience)
        if user_id not in edited and found_total != xp.get(user_id, 0):
            differences.append(
                f"{PROGRESSION} user {user_id} XP: expected {xp.get(user_id, 0)} in all,"
                f" found {found_total} (level {level}, {experience} XP)"
            )
        paid = sorted(level_ups.get(user_id, []))
        due = [
            (f"level-up:{reached}", level_up_reward(reached))
            for reached in range(2, level + 1)
            if level_up_reward(reached) > 0
        ]
        wrong = [entry for entry in paid if entry not in due]
        missing = [entry for entry in due if entry not in paid] if user_id not in edited else []
        if wrong or missing or len(paid) != len(set(paid)):
            differences.append(
                f"{PROGRESSION} user {user_id} level-up rewards: unexpected {wrong},"
                f" missing {missing}, paid {len(paid)} for {len(set(paid))} level(s)"
            )

    season_xp, found_season = _season_xp_expected(recomputed), _season_xp_found()
    for season_key in sorted(set(season_xp) | set(found_season)):
        if season_xp.get(season_key, 0) != found_season.get(season_key, 0):
            differences.append(
                f"{PROGRESSION} season XP (user, season) {season_key}: expected"
                f" {season_xp.get(season_key, 0)}, found {found_season.get(season_key, 0)}"
            )

    paid_achievements: dict[tuple[int, str], int] = defaultdict(int)
    for wallet_id, key in LedgerEntry.objects.filter(
        reason=LedgerReason.ACHIEVEMENT_REWARD
    ).values_list("wallet_id", "idempotency_key"):
        paid_achievements[(wallet_id, key.removeprefix("achievement:"))] += 1
    unlocked = {(unlock.user_id, unlock.achievement.code) for unlock in unlocks}
    for unlock in unlocks:
        achievement = unlock.achievement
        reached = peaks.get(unlock.user_id, {}).get(achievement.metric, 0)
        if reached < achievement.threshold or unlock.value < achievement.threshold:
            differences.append(
                f"{PROGRESSION} user {unlock.user_id} achievement {achievement.code}: unlocked"
                f" at {unlock.value}, the log reaches {reached} of {achievement.threshold}"
            )
        times = paid_achievements.get((unlock.user_id, achievement.code), 0)
        if times != (1 if achievement.reward_gold else 0):
            differences.append(
                f"{PROGRESSION} user {unlock.user_id} achievement {achievement.code}:"
                f" reward paid {times} time(s)"
            )
    for user_id, code in sorted(set(paid_achievements) - unlocked):
        differences.append(
            f"{PROGRESSION} user {user_id} achievement {code}: paid but not unlocked"
        )
    return differences


PROGRESSION_EVENTS = frozenset(
    {"round_settled", "purchase_succeeded", "purchase_reversed", "reward_claimed"}
)


PROJECTIONS = (
    Projection(
        name=PROGRESSION,
        event_types=PROGRESSION_EVENTS,
        apply=progression_apply,
        differences=progression_differences,
        repair=progression_repair,
    ),
)
