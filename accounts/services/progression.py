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

from collections.abc import Callable, Iterable
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
    if connection.in_atomic_block:  # every write comes after the last check: no savepoint
        return _vip_points_add(user_id, points, rank_for_points, source)
    with transaction.atomic():
        return _vip_points_add(user_id, points, rank_for_points, source)


def _vip_points_add(
    user_id: int, points: int, rank_for_points: Callable[[int], str], source: str
) -> VipPointsResult:
    user = User.objects.select_for_update().only("rank", "vip_points").get(pk=user_id)
    total = user.vip_points + points
    earned = rank_for_points(total)
    rank = earned if _RANK_ORDER.index(earned) > _RANK_ORDER.index(user.rank) else user.rank
    if points or rank != user.rank:
        _vip_points_write(user, total, rank, source)
    return VipPointsResult(total, rank, user.rank)


def _vip_points_write(user: User, total: int, rank: str, source: str) -> None:
    """Save a locked user's new VIP points and rank and tell the player (``profile_update``)."""
    User.objects.filter(pk=user.pk).update(vip_points=total, rank=rank)
    if rank != user.rank:
        auth_state_changed(user.pk)  # the rank is cached with the authentication state
    realtime_publish(
        user.pk,
        "profile_update",
        {
            "vip_points": total,
            "vip_points_gained": total - user.vip_points,
            "rank": rank,
            "rank_changed": rank != user.rank,
            "source": source,
        },
    )


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
            _vip_points_write(user, total, rank, source)
        return VipPointsResult(total, rank, user.rank)


# ---------------------------------------------------------------- batches (projections)


@dataclass
class PlayerLevelState:
    """A player's level and VIP state, read under the user row's lock and changed in Python by a
    projection batch (``users_progression_lock`` … ``users_progression_save``): the same rules
    as ``user_experience_add`` / ``user_vip_points_add`` / ``user_vip_points_remove``, applied
    event by event, written once."""

    user_id: int
    level: int
    experience: int
    paid_through: int
    vip_points: int
    rank: str
    start_vip_points: int = 0
    start_rank: str = ""
    experience_gained: int = 0
    levels_gained: list[int] | None = None
    rewarded_levels: list[int] | None = None
    sources: list[str] | None = None
    vip_sources: list[str] | None = None

    def experience_add(self, amount: int, *, source: str) -> list[int]:
        """Add ``amount`` (≥ 0) XP; return the levels reached (their rewards are paid on save,
        only above ``level_rewards_paid_through``)."""
        if amount < 0:
            raise ValueError("experience only grows")
        if amount == 0:
            return []
        self.experience += amount
        self.experience_gained += amount
        gained: list[int] = []
        while self.experience >= experience_for_next_level(self.level):
            self.experience -= experience_for_next_level(self.level)
            self.level += 1
            gained.append(self.level)
        self.levels_gained = [*(self.levels_gained or []), *gained]
        rewarded = [reached for reached in gained if reached > self.paid_through]
        self.rewarded_levels = [*(self.rewarded_levels or []), *rewarded]
        if gained:
            self.paid_through = max(self.paid_through, self.level)
        if source not in (self.sources or []):
            self.sources = [*(self.sources or []), source]
        return gained

    def vip_points_add(
        self, points: int, *, rank_for_points: Callable[[int], str], source: str
    ) -> None:
        """``user_vip_points_add``'s rule: the rank the points earn, never lowered."""
        if points < 0:
            raise ValueError("VIP points only grow")
        self.vip_points += points
        earned = rank_for_points(self.vip_points)
        if _RANK_ORDER.index(earned) > _RANK_ORDER.index(self.rank):
            self.rank = earned
        self.vip_sources = [*(self.vip_sources or []), source]

    def vip_points_remove(
        self, points: int, *, rank_for_points: Callable[[int], str], source: str
    ) -> None:
        """``user_vip_points_remove``'s rule: a rank the points explained follows them down."""
        if points < 0:
            raise ValueError("points to remove must not be negative")
        total = max(0, self.vip_points - points)
        earned_before = _RANK_ORDER.index(rank_for_points(self.vip_points))
        earned_after = _RANK_ORDER.index(rank_for_points(total))
        if _RANK_ORDER.index(self.rank) <= earned_before:
            self.rank = _RANK_ORDER[min(_RANK_ORDER.index(self.rank), earned_after)]
        self.vip_points = total
        self.vip_sources = [*(self.vip_sources or []), source]


def users_progression_lock(user_ids: Iterable[int]) -> dict[int, PlayerLevelState]:
    """Lock the players' user rows in primary-key order (one statement) and return their level
    and VIP state. Must run inside the batch's transaction, after the players' wallets."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, level, experience, level_rewards_paid_through, vip_points, rank"
            " FROM accounts_user WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
            [sorted(set(user_ids))],
        )
        rows = cursor.fetchall()
    return {
        row[0]: PlayerLevelState(
            user_id=row[0],
            level=row[1],
            experience=row[2],
            paid_through=row[3],
            vip_points=row[4],
            rank=row[5],
            start_vip_points=row[4],
            start_rank=row[5],
        )
        for row in rows
    }


_USERS_PROGRESSION_UPDATE = """
UPDATE accounts_user AS u SET level = b.level, experience = b.experience,
    level_rewards_paid_through = b.paid_through, vip_points = b.vip_points, rank = b.rank
FROM unnest(%s::bigint[], %s::int[], %s::bigint[], %s::int[], %s::bigint[], %s::text[])
    AS b(id, level, experience, paid_through, vip_points, rank)
WHERE u.id = b.id
"""


def users_progression_save(states: Iterable[PlayerLevelState]) -> None:
    """Write the changed players' level and VIP state in ONE statement, pay each level reached
    above ``level_rewards_paid_through`` once (ledger key ``level-up:<level>``), and store one
    ``profile_update`` per player with what the batch changed. Must run inside the batch's
    transaction that locked them (``users_progression_lock``)."""
    changed = [
        state
        for state in sorted(states, key=lambda state: state.user_id)
        if state.experience_gained or state.vip_sources
    ]
    if not changed:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _USERS_PROGRESSION_UPDATE,
            [
                [state.user_id for state in changed],
                [state.level for state in changed],
                [state.experience for state in changed],
                [state.paid_through for state in changed],
                [state.vip_points for state in changed],
                [state.rank for state in changed],
            ],
        )
    for state in changed:
        rewarded = set(state.rewarded_levels or [])
        level_ups = []
        for reached in state.levels_gained or []:
            reward = level_up_reward(reached) if reached in rewarded else 0
            if reward > 0:
                wallet_credit(
                    state.user_id,
                    reward,
                    reason=LedgerReason.LEVEL_UP,
                    reference=f"level:{reached}",
                    idempotency_key=f"level-up:{reached}",
                )
            level_ups.append({"level": reached, "gold": reward})
        if level_ups:
            # announced with its reward (folded into the batch's one progress_update)
            realtime_publish(state.user_id, "progress_update", {"level_ups": level_ups})
        if state.rank != state.start_rank:
            auth_state_changed(state.user_id)  # the rank is cached with the authentication state
        data: dict[str, object] = {}
        if state.experience_gained:
            sources = state.sources or []
            data |= {
                "level": state.level,
                "experience": state.experience,
                "max_experience": experience_for_next_level(state.level),
                "experience_gained": state.experience_gained,
                "source": sources[0] if len(sources) == 1 else "progression",
                "levels_gained": state.levels_gained or [],
            }
        if state.vip_sources:
            vip_sources = state.vip_sources
            data |= {
                "vip_points": state.vip_points,
                "vip_points_gained": state.vip_points - state.start_vip_points,
                "rank": state.rank,
                "rank_changed": state.rank != state.start_rank,
            }
            if not state.experience_gained:
                data["source"] = vip_sources[0] if len(vip_sources) == 1 else "progression"
        realtime_publish(state.user_id, "profile_update", data)


def users_experience_repair(totals: dict[int, int]) -> None:
    """Set the players' level and XP to what ``totals`` (all XP ever earned, each) gives, in
    ONE statement: the repair of the progression projection (``rebuild_projection``). Pays no
    level reward and leaves ``level_rewards_paid_through``, so a level is never paid twice.
    Must run inside a transaction that holds the players' wallets."""
    if not totals:
        return
    users = sorted(totals)
    levels: list[int] = []
    experiences: list[int] = []
    for user_id in users:
        level, experience = 1, totals[user_id]
        while experience >= experience_for_next_level(level):
            experience -= experience_for_next_level(level)
            level += 1
        levels.append(level)
        experiences.append(experience)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_user AS u SET level = b.level, experience = b.experience"
            " FROM unnest(%s::bigint[], %s::int[], %s::bigint[]) AS b(id, level, experience)"
            " WHERE u.id = b.id",
            [users, levels, experiences],
        )
