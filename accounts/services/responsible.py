"""Responsible play: age gate, purchase limits, cool-off, self-exclusion, reality checks.

Invariants:
- a block (cool-off or self-exclusion) can be extended by the player but never shortened or lifted
  early; while it lasts, every game round and every purchase is refused (403 ``play_blocked``);
- lowering the daily purchase limit applies at once; raising or removing it applies only after
  ``PURCHASE_LIMIT_RAISE_DELAY_HOURS`` (a cooling period against impulse);
- the reality check is a socket message every ``REALITY_CHECK_MINUTES`` of continuous play (rounds
  less than ``PLAY_SESSION_GAP_MINUTES`` apart form one session).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts import exceptions
from accounts.models import BlockKind, ResponsiblePlay

COOL_OFF_DURATIONS = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
SELF_EXCLUSION_DAYS = (30, 180, 365, 1825)


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def age_gate_check(birth_date: date) -> None:
    """Raise ``AgeRestricted`` unless the player is at least ``PLAYER_MINIMUM_AGE`` today."""
    if age_on(birth_date, timezone.localdate()) < settings.PLAYER_MINIMUM_AGE:
        raise exceptions.AgeRestricted(details={"minimum_age": settings.PLAYER_MINIMUM_AGE})


def _locked(user_id: int) -> ResponsiblePlay:
    ResponsiblePlay.objects.get_or_create(user_id=user_id)
    return ResponsiblePlay.objects.select_for_update().get(user_id=user_id)


def _apply_due_limit(state: ResponsiblePlay, now: datetime) -> None:
    if state.pending_limit_effective_at is not None and state.pending_limit_effective_at <= now:
        state.daily_purchase_limit_cents = state.pending_purchase_limit_cents
        state.pending_purchase_limit_cents = None
        state.pending_limit_effective_at = None


def _block(user_id: int, kind: str, until: datetime) -> ResponsiblePlay:
    with transaction.atomic():
        state = _locked(user_id)
        if state.blocked_until is not None and state.blocked_until > until:
            raise exceptions.BlockCannotBeShortened(details={"blocked_until": state.blocked_until})
        state.blocked_until = until
        if state.block_kind != BlockKind.SELF_EXCLUSION:
            state.block_kind = kind
        state.save()
        return state


def cool_off_start(user_id: int, duration: str) -> ResponsiblePlay:
    """Block play and purchases for 24 hours or 7 days. Extends, never shortens, a block."""
    return _block(user_id, BlockKind.COOL_OFF, timezone.now() + COOL_OFF_DURATIONS[duration])


def self_exclusion_start(user_id: int, days: int) -> ResponsiblePlay:
    """Self-exclude for ``days`` (one of ``SELF_EXCLUSION_DAYS``). Cannot be lifted early."""
    return _block(user_id, BlockKind.SELF_EXCLUSION, timezone.now() + timedelta(days=days))


def purchase_limit_set(user_id: int, limit_cents: int | None) -> ResponsiblePlay:
    """Set the daily money-purchase limit (None: no limit); raising waits out the delay."""
    now = timezone.now()
    with transaction.atomic():
        state = _locked(user_id)
        _apply_due_limit(state, now)
        current = state.daily_purchase_limit_cents
        is_lower = limit_cents is not None and (current is None or limit_cents <= current)
        if is_lower:
            state.daily_purchase_limit_cents = limit_cents
            state.pending_purchase_limit_cents = None
            state.pending_limit_effective_at = None
        else:
            delay = timedelta(hours=settings.PURCHASE_LIMIT_RAISE_DELAY_HOURS)
            state.pending_purchase_limit_cents = limit_cents
            state.pending_limit_effective_at = now + delay
        state.save()
        return state


def play_allowed_check(user_id: int) -> None:
    """Raise ``PlayBlocked`` during a cool-off or self-exclusion. Read-only, no lock."""
    with connection.cursor() as cursor:  # every round asks: plain SQL, no ORM query to compile
        cursor.execute(
            "SELECT blocked_until FROM accounts_responsibleplay"
            " WHERE user_id = %s AND blocked_until > %s",
            [user_id, timezone.now()],
        )
        row = cursor.fetchone()
    blocked_until = row[0] if row else None
    if blocked_until is not None:
        raise exceptions.PlayBlocked(details={"blocked_until": blocked_until.isoformat()})


def play_blocked_until_sql(user_id: int) -> tuple[str, list[Any]]:
    """``play_allowed_check`` as a scalar subquery (``blocked_until`` or NULL), for a round that
    takes its checks in one statement; pass a non-NULL result to ``play_blocked_raise``."""
    return (
        "(SELECT blocked_until FROM accounts_responsibleplay"
        " WHERE user_id = %s AND blocked_until > %s)",
        [user_id, timezone.now()],
    )


def play_blocked_raise(blocked_until: datetime) -> None:
    """Raise ``PlayBlocked`` for a block found by ``play_blocked_until_sql``."""
    raise exceptions.PlayBlocked(details={"blocked_until": blocked_until.isoformat()})


def purchase_allowed_check(user_id: int, price_cents: int, spent_today_cents: int) -> None:
    """Raise ``PlayBlocked`` or ``PurchaseLimitReached`` for a money purchase of ``price_cents``.

    One read of the player's row: the block and the limit (``play_allowed_check``'s rule)."""
    state = ResponsiblePlay.objects.filter(user_id=user_id).first()
    if state is None:
        return
    now = timezone.now()
    if state.blocked_until is not None and state.blocked_until > now:
        play_blocked_raise(state.blocked_until)
    _apply_due_limit(state, now)
    limit = state.daily_purchase_limit_cents
    if limit is not None and spent_today_cents + price_cents > limit:
        raise exceptions.PurchaseLimitReached(
            details={"daily_limit_cents": limit, "spent_today_cents": spent_today_cents}
        )


def responsible_play_status(user_id: int) -> dict[str, object]:
    state = ResponsiblePlay.objects.filter(user_id=user_id).first() or ResponsiblePlay(
        user_id=user_id
    )
    _apply_due_limit(state, timezone.now())
    blocked = state.blocked_until is not None and state.blocked_until > timezone.now()
    return {
        "daily_purchase_limit_cents": state.daily_purchase_limit_cents,
        "pending_purchase_limit_cents": state.pending_purchase_limit_cents,
        "pending_limit_effective_at": state.pending_limit_effective_at,
        "blocked": blocked,
        "block_kind": state.block_kind if blocked else None,
        "blocked_until": state.blocked_until if blocked else None,
        "reality_check_minutes": settings.REALITY_CHECK_MINUTES,
    }
