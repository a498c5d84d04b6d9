"""Experience and levels: the one place XP is added and levels change.

Invariants: XP changes under the user's row lock; ``experience`` is the XP inside the current level
(``max_experience`` = ``experience_for_next_level(level)``); each level reached pays its reward
once (ledger key ``level-up:<level>``), and only a level above ``level_rewards_paid_through``:
a level set by staff (``user_progression_set``, audited) moves that mark up to it, so neither the
levels it skipped nor levels reached again after it lowered one ever pay. VIP points grow under
the same row lock, and the rank they earn is raised here; only a reversed purchase takes points
back (``user_vip_points_remove``), and then a rank the points had earned follows them down, while
a rank staff set above the points stays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from accounts import exceptions
from accounts.auth_state import auth_state_changed
from accounts.models import LedgerReason, Rank, User
from accounts.selectors import experience_for_next_level
from accounts.services.audit import audit_log_record
from accounts.services.wallet import wallet_credit
from casinoclub.realtime.services import realtime_publish

_RANK_ORDER: tuple[str, ...] = (Rank.STANDARD, Rank.PREMIUM, Rank.VIP)


@dataclass(frozen=True)
class ExperienceResult:
    level: int
    experience: int
    levels_gained: tuple[int, ...]


def level_up_reward(level: int) -> int:
    """Gold for reaching ``level``: LEVEL_UP_GOLD_PER_LEVEL × level."""
    return int(settings.LEVEL_UP_GOLD_PER_LEVEL) * level


def user_experience_add(user_id: int, amount: int, *, source: str) -> ExperienceResult:
    """Add ``amount`` (≥ 0) XP, level up as often as it reaches, pay each level's reward.

    Runs in the caller's transaction or opens one. Sends ``profile_update``-shaped level data as
    part of the ledger messages and a ``profile_update`` with the new level when one is reached.
    """
    if amount < 0:
        raise ValueError("experience only grows")
    with transaction.atomic(savepoint=False):
        # One statement in the common case: add the XP under the row lock the UPDATE takes and
        # read the result back; a level-up (rare) writes the carried-over values once more.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE accounts_user SET experience = experience + %s WHERE id = %s"
                " RETURNING level, experience, level_rewards_paid_through",
                [amount, user_id],
            )
            row = cursor.fetchone()
        if row is None:
            raise User.DoesNotExist(f"no user {user_id}")
        level, experience, paid_through = row
        gained: list[int] = []
        while experience >= experience_for_next_level(level):
            experience -= experience_for_next_level(level)
            level += 1
            gained.append(level)
        rewarded = [reached for reached in gained if reached > paid_through]
        if gained:
            User.objects.filter(pk=user_id).update(
                level=level,
                experience=experience,
                level_rewards_paid_through=max(paid_through, level),
            )
        level_ups = []
        for reached in gained:
            reward = level_up_reward(reached) if reached in rewarded else 0
            if reward > 0:
                wallet_credit(
                    user_id,
                    reward,
                    reason=LedgerReason.LEVEL_UP,
                    reference=f"level:{reached}",
                    idempotency_key=f"level-up:{reached}",
                )
            level_ups.append({"level": reached, "gold": reward})
        if level_ups:
            # announced with its reward (folded into a projection batch's one progress_update)
            realtime_publish(user_id, "progress_update", {"level_ups": level_ups})
        if amount:
            realtime_publish(
                user_id,
                "profile_update",
                {
                    "level": level,
                    "experience": experience,
                    "max_experience": experience_for_next_level(level),
                    "experience_gained": amount,
                    "source": source,
                    "levels_gained": gained,
                },
            )
        return ExperienceResult(level, experience, tuple(gained))


MAX_LEVEL = 10_000


def user_progression_set(
    *, actor: User, user_id: int, level: int, experience: int, reason: str
) -> User:
    """Staff set a player's level and experience: audited, and no level-up gold, now or later.

    ``experience`` is the XP inside ``level`` (0 ≤ experience < the level's threshold), so the next
    round cannot carry the player over several levels at once. Every level up to ``level`` counts
    as settled (``level_rewards_paid_through``). Runs in the caller's transaction or opens one;
    locks the user's row. Raises ``InvalidProgression``, ``ReasonRequired``, ``UserNotFound``,
    ``SuperuserProtected``. Setting the same values again writes no audit row.
    """
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise exceptions.ReasonRequired()
    if not (
        isinstance(level, int)
        and isinstance(experience, int)
        and 1 <= level <= MAX_LEVEL
        and 0 <= experience < experience_for_next_level(level)
    ):
        raise exceptions.InvalidProgression()
    with transaction.atomic():
        user = (
            User.objects.select_for_update()
            .only("level", "experience", "level_rewards_paid_through", "is_superuser")
            .filter(pk=user_id)
            .first()
        )
        if user is None:
            raise exceptions.UserNotFound()
        if user.is_superuser and not actor.is_superuser:
            raise exceptions.SuperuserProtected()
        before = {"level": user.level, "experience": user.experience}
        if before == {"level": level, "experience": experience}:
            return user
        paid_through = max(user.level_rewards_paid_through, level)
        User.objects.filter(pk=user_id).update(
            level=level, experience=experience, level_rewards_paid_through=paid_through
        )
        audit_log_record(
            actor=actor,
            action="user_progression_change",
            target_user=user,
            before=before,
            after={"level": level, "experience": experience},
            reason=reason,
        )
        user.level, user.experience = level, experience
        user.level_rewards_paid_through = paid_through
        realtime_publish(
            user_id,
            "profile_update",
            {
                "level": level,
                "experience": experience,
                "max_experience": experience_for_next_level(level),
                "source": "staff",
            },
        )
        return user


@dataclass(frozen=True)
class VipPointsResult:
    vip_points: int
    rank: str
    previous_rank: str


def user_vip_points_add(
    user_id: int, points: int, *, rank_for_points: Callable[[int], str], source: str
) -> VipPointsResult:
    """Add ``points`` (≥ 0) VIP points and raise the rank to ``rank_for_points(total)`` if higher.

    The rank is never lowered here (staff may have set a higher one). Runs in the caller's
    transaction or opens one; locks the user's row. Sends ``profile_update`` with the new points and
    rank when anything changed. Not idempotent: the caller guards against repeats.
    """
    if points < 0:
        raise ValueError("VIP points only grow")
    with transaction.atomic():
        user = User.objects.select_for_update().only("rank", "vip_points").get(pk=user_id)
        total = user.vip_points + points
        earned = rank_for_points(total)
        rank = earned if _RANK_ORDER.index(earned) > _RANK_ORDER.index(user.rank) else user.rank
        if points or rank != user.rank:
            User.objects.filter(pk=user_id).update(vip_points=total, rank=rank)
            if rank != user.rank:
                auth_state_changed(user_id)  # the rank is cached with the authentication state
            realtime_publish(
                user_id,
                "profile_update",
                {
                    "vip_points": total,
                    "vip_points_gained": points,
                    "rank": rank,
                    "rank_changed": rank != user.rank,
                    "source": source,
                },
            )
        return VipPointsResult(total, rank, user.rank)


def user_vip_points_remove(
    user_id: int, points: int, *, rank_for_points: Callable[[int], str], source: str
) -> VipPointsResult:
    """Take back ``points`` (≥ 0) VIP points of a reversed purchase, never below zero.

    The rank follows the points down only when the points explained it: if the current rank is at
    most what the points earned before, it becomes at most what the remaining points earn (so
    never below what the player's other purchases and claims earned); a rank staff set above the
    points stays. Runs in the caller's transaction or opens one; locks the user's row. Sends
    ``profile_update`` when anything changed. Not idempotent: the caller guards against repeats.
    """
    if points < 0:
        raise ValueError("points to remove must not be negative")
    with transaction.atomic():
        user = User.objects.select_for_update().only("rank", "vip_points").get(pk=user_id)
        total = max(0, user.vip_points - points)
        rank = user.rank
        earned_before = _RANK_ORDER.index(rank_for_points(user.vip_points))
        earned_after = _RANK_ORDER.index(rank_for_points(total))
        if _RANK_ORDER.index(rank) <= earned_before:
            rank = _RANK_ORDER[min(_RANK_ORDER.index(rank), earned_after)]
        if total != user.vip_points or rank != user.rank:
            User.objects.filter(pk=user_id).update(vip_points=total, rank=rank)
            if rank != user.rank:
                auth_state_changed(user_id)  # the rank is cached with the authentication state
            realtime_publish(
                user_id,
                "profile_update",
                {
                    "vip_points": total,
                    "vip_points_gained": total - user.vip_points,
                    "rank": rank,
                    "rank_changed": rank != user.rank,
                    "source": source,
                },
            )
        return VipPointsResult(total, rank, user.rank)
