"""Progression state changes: streak and VIP claims, XP, counters, achievements, battle pass.

Invariants:
- every reward is granted once: a row with a unique constraint — ``StreakClaim(user, day)``,
  ``VipClaim(user, day)``, ``AchievementUnlock(user, achievement)``,
  ``BattlePassClaim(user, tier, track)`` — is inserted in the transaction of its ledger credit,
  whose idempotency key names the same fact (``streak:<day>``, ``vip:<day>``,
  ``achievement:<code>``, ``battle-pass:<season>:<tier>:<track>``);
- a "day" is the calendar day in ``settings.TIME_ZONE`` (``timezone.localdate()``);
- one lock order on every path, so progression never deadlocks with rounds or purchases: the
  player's wallet, then the player's progression rows (streak state, progress), then the user row
  (XP, VIP points, rank — changed only through ``accounts.services``). Rounds and purchases hold
  the wallet when their signals arrive; claims take it first (``_player_lock``);
- counters change only under the ``PlayerProgress`` row lock and only grow (the current win
  streak excepted), so an unlocked achievement stays deserved;
- ranks are raised automatically, never lowered;
- socket messages are stored in the transaction (``realtime_publish``) and sent after commit;
  ``reward_claimed`` is appended to the event log in the transaction of every claim and unlock;
- round and purchase progress (counters, XP, achievements) is the ``progression`` projection of the
  event log (``gamification.projections``), applied after the money transaction commits.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import LedgerReason
from accounts.selectors import inventory_has
from accounts.services import inventory_add, user_experience_add, wallet_credit, wallets_lock
from accounts.services.progression import (
    ExperienceResult,
    user_vip_points_add,
    user_vip_points_remove,
)
from casinoclub import domain_events
from casinoclub.i18n import translations
from casinoclub.realtime.messages import (
    AchievementProgressData,
    AchievementUnlockData,
    StreakUpdateData,
)
from casinoclub.realtime.services import realtime_publish
from gamification import exceptions, rules, selectors
from gamification.achievements import EVALUATORS, metric_value
from gamification.models import (
    Achievement,
    BattlePassClaim,
    PlayerProgress,
    Season,
    StreakClaim,
    StreakState,
    Tier,
    Track,
    VipClaim,
)

# ---------------------------------------------------------------- locks


def _player_lock(user_id: int) -> None:
    """Take the first lock of the order: the player's wallet. Must run inside a transaction."""
    wallets_lock([user_id])


def _progress_lock(user_id: int) -> PlayerProgress:
    """The player's counters, created on first use, locked. Must run inside a transaction."""
    PlayerProgress.objects.bulk_create([PlayerProgress(user_id=user_id)], ignore_conflicts=True)
    return PlayerProgress.objects.select_for_update().get(user_id=user_id)


_PROGRESS_COUNTERS = (
    "rounds_played",
    "total_bet",
    "total_won",
    "current_win_streak",
    "best_win_streak",
    "best_multiplier_x100",
    "purchases",
    "best_streak_days",
)
# A round's counters in one statement: the row is created on first use and updated under the lock
# the upsert takes; RETURNING gives the new counters and (from the statement's snapshot, taken
# under the caller's wallet lock) the ones before, which the achievement progress needs. Both in
# the order of _PROGRESS_COUNTERS.
_ROUND_PROGRESS_SQL = """
WITH before AS (
    SELECT rounds_played, total_bet, total_won, current_win_streak, best_win_streak,
        best_multiplier_x100, purchases, best_streak_days
    FROM gamification_playerprogress WHERE user_id = %(user_id)s
)
INSERT INTO gamification_playerprogress AS p (user_id, rounds_played, total_bet, total_won,
    current_win_streak, best_win_streak, best_multiplier_x100, purchases, best_streak_days,
    updated_at)
VALUES (%(user_id)s, 1, %(bet)s, %(payout)s, %(streak)s, %(streak)s, %(multiplier)s, 0, 0,
    %(now)s)
ON CONFLICT (user_id) DO UPDATE SET
    rounds_played = p.rounds_played + 1,
    total_bet = p.total_bet + EXCLUDED.total_bet,
    total_won = p.total_won + EXCLUDED.total_won,
    current_win_streak = CASE WHEN %(is_win)s THEN p.current_win_streak + 1 ELSE 0 END,
    best_win_streak = GREATEST(p.best_win_streak,
        CASE WHEN %(is_win)s THEN p.current_win_streak + 1 ELSE 0 END),
    best_multiplier_x100 = GREATEST(p.best_multiplier_x100, EXCLUDED.best_multiplier_x100),
    updated_at = EXCLUDED.updated_at
RETURNING p.rounds_played, p.total_bet, p.total_won, p.current_win_streak, p.best_win_streak,
    p.best_multiplier_x100, p.purchases, p.best_streak_days,
    (SELECT rounds_played FROM before), (SELECT total_bet FROM before),
    (SELECT total_won FROM before), (SELECT current_win_streak FROM before),
    (SELECT best_win_streak FROM before), (SELECT best_multiplier_x100 FROM before),
    (SELECT purchases FROM before), (SELECT best_streak_days FROM before)
"""


def _streak_state_lock(user_id: int) -> StreakState:
    StreakState.objects.bulk_create([StreakState(user_id=user_id)], ignore_conflicts=True)
    return StreakState.objects.select_for_update().get(user_id=user_id)


def _metric_values(progress: PlayerProgress) -> dict[str, int]:
    return {metric: metric_value(metric, progress) for metric in EVALUATORS}


def _reward_claimed(user_id: int, source: str, gold: int, streak_days: int = 0) -> None:
    domain_events.domain_event_record(
        domain_events.RewardClaimed(
            user_id=user_id, source=source, gold=gold, streak_days=streak_days
        )
    )


# ---------------------------------------------------------------- XP


def experience_grant(user_id: int, amount: int, *, source: str) -> ExperienceResult | None:
    """Add ``amount`` XP to the player's level and to the running season's battle pass.

    Must run inside a transaction holding the player's wallet lock (level-ups credit gold).
    Not idempotent: callers grant XP once per fact they record. Returns None for 0 XP.
    """
    if amount <= 0:
        return None
    result = user_experience_add(user_id, amount, source=source)
    season_experience_add(user_id, amount)
    return result


def season_experience_add(user_id: int, amount: int, at: datetime | None = None) -> None:
    """Add ``amount`` XP to the battle pass of the season running at ``at`` (now), if any.

    Every XP source feeds the pass: rounds and achievements through ``experience_grant``, mission
    and event claims (which add level XP in their own transaction) through the progression
    projection's ``reward_claimed``. Must run inside a transaction. Not idempotent.
    """
    if amount <= 0:
        return
    now = at or timezone.now()
    with connection.cursor() as cursor:  # the running season (as season_current picks it), if any
        cursor.execute(
            "INSERT INTO gamification_seasonprogress AS p (user_id, season_id, xp)"
            " SELECT %s, s.id, %s FROM gamification_season s"
            " WHERE s.starts_at <= %s AND s.ends_at > %s ORDER BY s.starts_at DESC LIMIT 1"
            " ON CONFLICT (user_id, season_id) DO UPDATE SET xp = p.xp + EXCLUDED.xp",
            [user_id, amount, now, now],
        )


# ---------------------------------------------------------------- achievements


def _achievement_unlock(user_id: int, achievement: Achievement, value: int) -> bool:
    """Insert the unlock row once (ON CONFLICT DO NOTHING); pay, publish and announce it.

    Returns False when it was already unlocked. Must run under the player's progress lock.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO gamification_achievementunlock (user_id, achievement_id, value,"
            " unlocked_at) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (user_id, achievement_id) DO NOTHING RETURNING id",
            [user_id, achievement.pk, value, timezone.now()],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    if achievement.reward_gold:
        wallet_credit(
            user_id,
            achievement.reward_gold,
            reason=LedgerReason.ACHIEVEMENT_REWARD,
            reference=f"achievement:{achievement.code}",
            idempotency_key=f"achievement:{achievement.code}",
        )
    experience_grant(user_id, achievement.reward_xp, source=f"achievement:{achievement.code}")
    message: AchievementUnlockData = {
        "code": achievement.code,
        "name": achievement.name,
        "names": translations(achievement, "name"),
        "metric": achievement.metric,
        "threshold": achievement.threshold,
        "value": value,
        "reward_gold": achievement.reward_gold,
        "reward_xp": achievement.reward_xp,
    }
    realtime_publish(user_id, "achievement_unlock", message)
    _reward_claimed(user_id, "achievement", achievement.reward_gold)
    return True


def achievements_evaluate(
    user_id: int, before: dict[str, int], progress: PlayerProgress
) -> list[str]:
    """Unlock every active achievement the player has reached and not yet unlocked.

    ``before`` holds the metric values before the change that led here: an
    ``achievement_progress`` message goes out only when a value crosses a tenth of a threshold.
    Must run under the player's progress lock. Returns the codes unlocked now.
    """
    unlocked: list[str] = []
    # Every round asks: a raw query (no ORM query to compile), in the model's ordering.
    pending = Achievement.objects.raw(
        "SELECT a.* FROM gamification_achievement a WHERE a.is_active AND NOT EXISTS ("
        " SELECT 1 FROM gamification_achievementunlock u"
        " WHERE u.achievement_id = a.id AND u.user_id = %s)"
        " ORDER BY a.display_order, a.id",
        [user_id],
    )
    for achievement in pending:
        value = metric_value(achievement.metric, progress)
        threshold = achievement.threshold
        if value >= threshold:
            if _achievement_unlock(user_id, achievement, value):
                unlocked.append(achievement.code)
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
    return unlocked


# ---------------------------------------------------------------- hooks of rounds and purchases


def round_progress_record(
    user_id: int, *, game: str, bet: int, payout: int, multiplier_x100: int
) -> None:
    """Count a settled round, grant its XP and evaluate achievements.

    Runs inside the round's transaction (the ``round_settled`` receiver), which holds the wallet.
    """
    _player_lock(user_id)
    is_win = payout > bet
    with connection.cursor() as cursor:
        cursor.execute(
            _ROUND_PROGRESS_SQL,
            {
                "user_id": user_id,
                "bet": bet,
                "payout": payout,
                "is_win": is_win,
                "streak": 1 if is_win else 0,
                "multiplier": multiplier_x100,
                "now": timezone.now(),
            },
        )
        row = cursor.fetchone()
    after = dict(zip(_PROGRESS_COUNTERS, row[: len(_PROGRESS_COUNTERS)], strict=True))
    old = row[len(_PROGRESS_COUNTERS) :]
    before_counters = (
        dict(zip(_PROGRESS_COUNTERS, old, strict=True))
        if old[0] is not None
        else dict.fromkeys(_PROGRESS_COUNTERS, 0)
    )
    before = _metric_values(PlayerProgress(user_id=user_id, **before_counters))
    progress = PlayerProgress(user_id=user_id, **after)
    experience_grant(user_id, rules.round_experience(bet), source=f"round:{game}")
    achievements_evaluate(user_id, before, progress)


def purchase_progress_record(user_id: int, *, receipt: str, price_cents: int) -> None:
    """Count a successful purchase, add its VIP points (money spend) and evaluate achievements.

    Runs inside the purchase's transaction (the ``purchase_succeeded`` receiver); the shop's state
    machine sends it once per purchase.
    """
    _player_lock(user_id)
    progress = _progress_lock(user_id)
    before = _metric_values(progress)
    progress.purchases += 1
    progress.save()
    points = rules.vip_points_for_purchase(price_cents)
    if points:
        user_vip_points_add(
            user_id,
            points,
            rank_for_points=selectors.vip_rank_for_points,
            source=f"purchase:{receipt}",
        )
    achievements_evaluate(user_id, before, progress)


def purchase_progress_reverse(
    user_id: int, *, receipt: str, price_cents: int, items_removed: tuple[tuple[str, int], ...]
) -> list[str]:
    """Take back what a reversed purchase fed: one purchase off the counter, its VIP points (the
    rank follows, ``user_vip_points_remove``). Unlocked achievements stay (no value is paid twice:
    an unlock is once per player). Returns review reasons: ``battle_pass_premium_claimed`` when a
    removed item was a season's premium pass the player no longer owns and premium rewards of that
    season were already claimed (staff decide). Runs inside the reversal's transaction (the
    ``purchase_reversed`` receiver), which holds the wallet; the shop sends it once per purchase.
    """
    _player_lock(user_id)
    progress = _progress_lock(user_id)
    progress.purchases = max(0, progress.purchases - 1)
    progress.save(update_fields=["purchases", "updated_at"])
    points = rules.vip_points_for_purchase(price_cents)
    if points:
        user_vip_points_remove(
            user_id,
            points,
            rank_for_points=selectors.vip_rank_for_points,
            source=f"reversal:{receipt}",
        )
    reasons: list[str] = []
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
        reasons.append("battle_pass_premium_claimed")
    return reasons


# ---------------------------------------------------------------- daily streak


def streak_claim(user_id: int) -> StreakClaim:
    """Claim today's streak reward: gold by streak day (capped), XP, counters, achievements.

    Runs in the caller's transaction (``run_idempotent``) or opens one. Raises ``AlreadyClaimed``
    when today (local calendar day) is claimed already; then nothing changes. One claim per day is
    guaranteed by ``unique(user, day)``; concurrent claims serialise on the wallet lock.
    """
    today = timezone.localdate()
    with transaction.atomic():
        _player_lock(user_id)
        state = _streak_state_lock(user_id)
        if state.last_claim_date is not None and state.last_claim_date >= today:
            raise exceptions.AlreadyClaimed()
        streak_day = rules.streak_day_for_claim(
            state.last_claim_date, state.current_streak, today, selectors.streak_grace_days()
        )
        reward = rules.streak_reward_for(streak_day, selectors.streak_table())
        try:
            with transaction.atomic():
                claim = StreakClaim.objects.create(
                    user_id=user_id, day=today, streak_day=streak_day, reward_gold=reward
                )
        except IntegrityError as error:
            raise exceptions.AlreadyClaimed() from error
        state.current_streak = streak_day
        state.best_streak = max(state.best_streak, streak_day)
        state.last_claim_date = today
        state.save()
        if reward:
            wallet_credit(
                user_id,
                reward,
                reason=LedgerReason.STREAK_REWARD,
                reference=f"streak:{today.isoformat()}",
                idempotency_key=f"streak:{today.isoformat()}",
            )
        progress = _progress_lock(user_id)
        before = _metric_values(progress)
        progress.best_streak_days = max(progress.best_streak_days, streak_day)
        progress.save()
        experience_grant(user_id, rules.STREAK_CLAIM_XP, source="streak")
        realtime_publish(user_id, "streak_update", _streak_message(user_id, today, claim))
        achievements_evaluate(user_id, before, progress)
        _reward_claimed(user_id, "streak", reward, streak_days=streak_day)
        return claim


def _streak_message(user_id: int, today: date, claim: StreakClaim) -> StreakUpdateData:
    status = selectors.streak_status(user_id, today)
    return {
        "current_streak": status["current_streak"],
        "best_streak": status["best_streak"],
        "claimed_today": True,
        "day": today.isoformat(),
        "streak_day": claim.streak_day,
        "reward_gold": claim.reward_gold,
        "next_reward_gold": status["next_reward_gold"],
    }


# ---------------------------------------------------------------- VIP


def vip_claim(user_id: int) -> VipClaim:
    """Claim today's VIP points (and gold by rank): once per local calendar day.

    Runs in the caller's transaction (``run_idempotent``) or opens one. The points may raise the
    rank (``accounts.services.progression.user_vip_points_add``: never lowered). Raises
    ``AlreadyClaimed`` when today is claimed already; then nothing changes.
    """
    today = timezone.localdate()
    with transaction.atomic():
        _player_lock(user_id)
        rank = selectors.player_rank(user_id)
        points, gold = rules.VIP_DAILY_POINTS[rank], rules.VIP_DAILY_GOLD[rank]
        try:
            with transaction.atomic():
                claim = VipClaim.objects.create(
                    user_id=user_id, day=today, rank=rank, points=points, reward_gold=gold
                )
        except IntegrityError as error:
            raise exceptions.AlreadyClaimed() from error
        if gold:
            wallet_credit(
                user_id,
                gold,
                reason=LedgerReason.VIP_REWARD,
                reference=f"vip:{today.isoformat()}",
                idempotency_key=f"vip:{today.isoformat()}",
            )
        user_vip_points_add(
            user_id, points, rank_for_points=selectors.vip_rank_for_points, source="vip_claim"
        )
        experience_grant(user_id, rules.VIP_CLAIM_XP, source="vip")
        _reward_claimed(user_id, "vip", gold)
        return claim


# ---------------------------------------------------------------- battle pass


def battle_pass_claim(user_id: int, tier_number: int, track: str) -> BattlePassClaim:
    """Claim one tier's reward on one track of the current season: each (tier, track) once.

    Runs in the caller's transaction (``run_idempotent``) or opens one. Raises
    ``SeasonNotActive``, ``TierNotFound``, ``TierLocked`` (not enough season XP),
    ``PremiumRequired`` (premium track without the season's shop item), ``AlreadyClaimed``; then
    nothing changes.
    """
    with transaction.atomic():
        season = selectors.season_current()
        if season is None:
            raise exceptions.SeasonNotActive()
        tier = Tier.objects.filter(season=season, number=tier_number).first()
        if tier is None:
            raise exceptions.TierNotFound()
        _player_lock(user_id)
        xp = selectors.season_xp(user_id, season.pk)
        if xp < tier.xp_required:
            raise exceptions.TierLocked(details={"xp": xp, "xp_required": tier.xp_required})
        if track == Track.PREMIUM and not inventory_has(user_id, season.premium_item_code):
            raise exceptions.PremiumRequired(details={"item_code": season.premium_item_code})
        is_free = track == Track.FREE
        gold = tier.free_reward_gold if is_free else tier.premium_reward_gold
        item = tier.free_reward_item if is_free else tier.premium_reward_item
        try:
            with transaction.atomic():
                claim = BattlePassClaim.objects.create(
                    user_id=user_id, tier=tier, track=track, reward_gold=gold, reward_item=item
                )
        except IntegrityError as error:
            raise exceptions.AlreadyClaimed() from error
        key = f"battle-pass:{season.code}:{tier.number}:{track}"
        if gold:
            wallet_credit(
                user_id,
                gold,
                reason=LedgerReason.BATTLE_PASS_REWARD,
                reference=key,
                idempotency_key=key,
            )
        if item:
            inventory_add(user_id, item)
        _reward_claimed(user_id, "battle_pass", gold)
        return claim
