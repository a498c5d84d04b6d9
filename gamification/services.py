"""Progression state changes: streak and VIP claims, the battle pass; achievement progress
messages for the progression projection.

Invariants:
- every reward is granted once: a row with a unique constraint — ``StreakClaim(user, day)``,
  ``VipClaim(user, day)``, ``BattlePassClaim(user, tier, track)`` — is inserted in the
  transaction of its ledger credit, whose idempotency key names the same fact (``streak:<day>``,
  ``vip:<day>``, ``battle-pass:<season>:<tier>:<track>``);
- a "day" is the calendar day in ``settings.TIME_ZONE`` (``timezone.localdate()``);
- one lock order on every path, so progression never deadlocks with rounds, purchases or
  projection batches: the player's wallet (``_player_lock``), then the player's own rows (streak
  state), then the user row (VIP points, rank — changed only through ``accounts.services``);
- a claim's transaction keeps only money: its lock(s), its own state (streak state, VIP points
  and rank), the claim row, the ledger credit, its own socket message and one ``reward_claimed``
  event row carrying what progression needs (``xp``, ``streak_days``);
- ranks are raised automatically, never lowered;
- socket messages are stored in the transaction (``realtime_publish``) and sent after commit;
- counters, XP and levels (level-up rewards through the ledger), battle-pass XP and achievements
  (``AchievementUnlock(user, achievement)``, ``achievement:<code>``) of rounds, purchases and
  claims are the ``progression`` projection of the event log (``gamification.projections``),
  applied set-based in batches after the money transaction commits.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import LedgerReason
from accounts.selectors import inventory_has
from accounts.services import inventory_add, wallet_credit, wallets_lock
from accounts.services.progression import user_vip_points_add
from casinoclub import domain_events
from casinoclub.realtime.messages import AchievementProgressData, StreakUpdateData
from casinoclub.realtime.services import realtime_publish
from gamification import exceptions, rules, selectors
from gamification.models import (
    Achievement,
    BattlePassClaim,
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


def _reward_claimed(
    user_id: int, source: str, gold: int, *, streak_days: int = 0, xp: int = 0
) -> None:
    domain_events.domain_event_record(
        domain_events.RewardClaimed(
            user_id=user_id, source=source, gold=gold, streak_days=streak_days, xp=xp
        )
    )


# ---------------------------------------------------------------- achievements


def achievement_progress_publish(
    user_id: int, achievement: Achievement, value: int, previous: int
) -> None:
    """Tell the player of progress towards a locked achievement when ``value`` crossed a step
    (``rules.progress_step``) since ``previous``."""
    threshold = achievement.threshold
    if rules.progress_step(value, threshold) > rules.progress_step(previous, threshold):
        progress_message: AchievementProgressData = {
            "code": achievement.code,
            "metric": achievement.metric,
            "value": value,
            "threshold": threshold,
            "progress_percent": value * 100 // threshold,
        }
        realtime_publish(user_id, "achievement_progress", progress_message)


# ---------------------------------------------------------------- hooks of rounds and purchases


def round_progress_record(
    user_id: int, *, game: str, bet: int, payout: int, multiplier_x100: int
) -> None:
    """Count one settled round now, as the ``progression`` projection counts a batch of them:
    counters, XP (and levels), season XP, achievements. Must run inside a transaction; for
    scripts and tests (rounds reach progression through the event log)."""
    from casinoclub.projections import Event as LoggedEvent
    from gamification.projections import progression_apply

    payload = {
        "round_id": 0,
        "game": game,
        "bet": bet,
        "payout": payout,
        "multiplier_x100": multiplier_x100,
    }
    progression_apply([LoggedEvent(0, "round_settled", user_id, payload, timezone.now(), 0)])


# ---------------------------------------------------------------- daily streak


_STREAK_STATE_LOCK_SQL = (
    "INSERT INTO gamification_streakstate AS s"
    " (user_id, current_streak, best_streak, last_claim_date, updated_at)"
    " VALUES (%s, 0, 0, NULL, now()) ON CONFLICT (user_id) DO UPDATE SET user_id = s.user_id"
    " RETURNING s.current_streak, s.best_streak, s.last_claim_date, s.updated_at"
)
_STREAK_CLAIM_INSERT_SQL = (
    "INSERT INTO gamification_streakclaim (user_id, day, streak_day, reward_gold, created_at)"
    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (user_id, day) DO NOTHING RETURNING id"
)


def _streak_state_lock(user_id: int) -> StreakState:
    """The player's streak state, created on first use and locked, in one statement. Must run
    inside a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(_STREAK_STATE_LOCK_SQL, [user_id])
        current, best, last, updated_at = cursor.fetchone()
    return StreakState.from_db(
        None,
        ["user_id", "current_streak", "best_streak", "last_claim_date", "updated_at"],
        [user_id, current, best, last, updated_at],
    )


def streak_claim(user_id: int) -> StreakClaim:
    """Claim today's streak reward: gold by streak day (capped); the XP, the best-streak counter
    and the achievements it reaches follow from its ``reward_claimed`` event (progression).

    Runs in the caller's transaction (``run_idempotent``) or opens one. Raises ``AlreadyClaimed``
    when today (local calendar day) is claimed already; then nothing changes (the refusal comes
    before any change: only the state row's lock is taken, so it needs no savepoint). One claim
    per day is guaranteed by ``unique(user, day)``; concurrent claims serialise on the wallet
    lock. The claim carries the streak status and the balance after it (``status``,
    ``balance_after``).
    """
    if connection.in_atomic_block:
        return _streak_claim(user_id)
    with transaction.atomic():
        return _streak_claim(user_id)


def _streak_claim(user_id: int) -> StreakClaim:
    today = timezone.localdate()
    _player_lock(user_id)
    state = _streak_state_lock(user_id)
    if state.last_claim_date is not None and state.last_claim_date >= today:
        raise exceptions.AlreadyClaimed()
    table = selectors.streak_table()
    streak_day = rules.streak_day_for_claim(
        state.last_claim_date, state.current_streak, today, selectors.streak_grace_days()
    )
    reward = rules.streak_reward_for(streak_day, table)
    claim = StreakClaim(user_id=user_id, day=today, streak_day=streak_day, reward_gold=reward)
    with connection.cursor() as cursor:
        cursor.execute(
            _STREAK_CLAIM_INSERT_SQL, [user_id, today, streak_day, reward, claim.created_at]
        )
        inserted = cursor.fetchone()
    if inserted is None:  # a claim row without its state: refused like a second claim
        raise exceptions.AlreadyClaimed()
    claim.pk = inserted[0]
    state.current_streak = streak_day
    state.best_streak = max(state.best_streak, streak_day)
    state.last_claim_date = today
    state.save()
    if reward:
        claim.balance_after = wallet_credit(
            user_id,
            reward,
            reason=LedgerReason.STREAK_REWARD,
            reference=f"streak:{today.isoformat()}",
            idempotency_key=f"streak:{today.isoformat()}",
        ).balance_after
    claim.status = selectors.streak_status_of(state, table, today)
    realtime_publish(user_id, "streak_update", _streak_message(today, claim, claim.status))
    # the best streak counter, the XP (level and battle pass) and the achievements it reaches
    # are the progression projection's, applied from this event after the commit
    _reward_claimed(user_id, "streak", reward, streak_days=streak_day, xp=rules.STREAK_CLAIM_XP)
    return claim


def _streak_message(today: date, claim: StreakClaim, status: dict[str, Any]) -> StreakUpdateData:
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


_VIP_CLAIM_INSERT_SQL = (
    "INSERT INTO gamification_vipclaim (user_id, day, rank, points, reward_gold, created_at)"
    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (user_id, day) DO NOTHING RETURNING id"
)


def vip_claim(user_id: int) -> VipClaim:
    """Claim today's VIP points (and gold by rank): once per local calendar day.

    Runs in the caller's transaction (``run_idempotent``) or opens one. The points may raise the
    rank (``accounts.services.progression.user_vip_points_add``: never lowered). Raises
    ``AlreadyClaimed`` when today is claimed already; then nothing changes (the refusal comes
    before any change: only the wallet's lock is taken, so it needs no savepoint). The claim
    carries the VIP status and the balance after it (``status``, ``balance_after``).
    """
    if connection.in_atomic_block:
        return _vip_claim(user_id)
    with transaction.atomic():
        return _vip_claim(user_id)


def _vip_claim(user_id: int) -> VipClaim:
    today = timezone.localdate()
    _player_lock(user_id)
    rank = selectors.player_rank(user_id)
    points, gold = rules.VIP_DAILY_POINTS[rank], rules.VIP_DAILY_GOLD[rank]
    claim = VipClaim(user_id=user_id, day=today, rank=rank, points=points, reward_gold=gold)
    with connection.cursor() as cursor:
        cursor.execute(
            _VIP_CLAIM_INSERT_SQL, [user_id, today, rank, points, gold, claim.created_at]
        )
        inserted = cursor.fetchone()
    if inserted is None:  # today's claim exists: refused before any change
        raise exceptions.AlreadyClaimed()
    claim.pk = inserted[0]
    if gold:
        claim.balance_after = wallet_credit(
            user_id,
            gold,
            reason=LedgerReason.VIP_REWARD,
            reference=f"vip:{today.isoformat()}",
            idempotency_key=f"vip:{today.isoformat()}",
        ).balance_after
    result = user_vip_points_add(
        user_id, points, rank_for_points=selectors.vip_rank_for_points, source="vip_claim"
    )
    _reward_claimed(user_id, "vip", gold, xp=rules.VIP_CLAIM_XP)
    claim.status = selectors.vip_status_of(result.rank, result.vip_points, today, claimed=True)
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
