"""Responsible play: age gate, purchase limits, cool-off, self-exclusion, reality checks.

Invariants:
- nobody plays or buys without a birth date on file that passes the age gate: an account made
  without one (before every way of making accounts asked for it) is refused with 403
  ``birth_date_required`` until the player gives it once (``birth_date_give``), which is then kept
  (a player cannot retry with another date; support corrects mistakes);
- a block (cool-off or self-exclusion) can be extended by the player or by staff with
  ``accounts.extend_block`` (audited) but never shortened or lifted early; while it lasts, every
  game round and every purchase is refused (403 ``play_blocked``);
- lowering the daily purchase limit applies at once; raising or removing it applies only after
  ``PURCHASE_LIMIT_RAISE_DELAY_HOURS`` (a cooling period against impulse);
- the reality check is a socket message every ``REALITY_CHECK_MINUTES`` of continuous play (rounds
  less than ``PLAY_SESSION_GAP_MINUTES`` apart form one session).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts import exceptions
from accounts.models import BlockKind, ResponsiblePlay, User

from .audit import audit_log_record

COOL_OFF_DURATIONS = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
SELF_EXCLUSION_DAYS = (30, 180, 365, 1825)


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def age_gate_check(birth_date: date) -> None:
    """Raise ``AgeRestricted`` unless the player is at least ``PLAYER_MINIMUM_AGE`` today."""
    if age_on(birth_date, timezone.localdate()) < settings.PLAYER_MINIMUM_AGE:
        raise exceptions.AgeRestricted(details={"minimum_age": settings.PLAYER_MINIMUM_AGE})


def latest_birth_date_of_age(day: date) -> date:
    """The latest birth date of someone at least ``PLAYER_MINIMUM_AGE`` on ``day``."""
    year = day.year - settings.PLAYER_MINIMUM_AGE
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February: that birthday is reached on 28 February of other years
        return day.replace(year=year, day=28)


def birth_date_give(user_id: int, birth_date: date) -> User:
    """Record the birth date of an account made without one (asked at its next login), audited.

    The date is kept even when it fails the age gate, so the player cannot retry with another
    one; ``AgeRestricted`` is raised after it is saved. Raises ``BirthDateAlreadySet`` when the
    account has one. Not idempotent (a second call raises ``BirthDateAlreadySet``).
    """
    with transaction.atomic(durable=True):
        user = User.objects.select_for_update(no_key=True).get(pk=user_id)
        if user.birth_date is not None:
            raise exceptions.BirthDateAlreadySet()
        user.birth_date = birth_date
        user.save(update_fields=["birth_date"])
        audit_log_record(
            actor=user,
            action="birth_date_given",
            target_user=user,
            before={"birth_date": None},
            after={"birth_date": birth_date.isoformat()},
        )
    age_gate_check(birth_date)
    return user


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
        before = _block_state(state)
        state.blocked_until = until
        if state.block_kind != BlockKind.SELF_EXCLUSION:
            state.block_kind = kind
        state.save()
        _player_choice_record(user_id, "responsible_play_block", before, _block_state(state))
        return state


def _block_state(state: ResponsiblePlay) -> dict[str, Any]:
    until = state.blocked_until
    return {"block_kind": state.block_kind, "blocked_until": until.isoformat() if until else None}


def _limit_state(state: ResponsiblePlay) -> dict[str, Any]:
    pending_at = state.pending_limit_effective_at
    return {
        "daily_purchase_limit_cents": state.daily_purchase_limit_cents,
        "pending_purchase_limit_cents": state.pending_purchase_limit_cents,
        "pending_limit_effective_at": pending_at.isoformat() if pending_at else None,
    }


def _player_choice_record(
    user_id: int, action: str, before: dict[str, Any], after: dict[str, Any]
) -> None:
    """The player's own responsible-play choice, in the audit log (their history on the support
    page, next to staff extensions)."""
    player = User.objects.get(pk=user_id)
    audit_log_record(actor=player, action=action, target_user=player, before=before, after=after)


def cool_off_start(user_id: int, duration: str) -> ResponsiblePlay:
    """Block play and purchases for 24 hours or 7 days. Extends, never shortens, a block."""
    return _block(user_id, BlockKind.COOL_OFF, timezone.now() + COOL_OFF_DURATIONS[duration])


def self_exclusion_start(user_id: int, days: int) -> ResponsiblePlay:
    """Self-exclude for ``days`` (one of ``SELF_EXCLUSION_DAYS``). Cannot be lifted early."""
    return _block(user_id, BlockKind.SELF_EXCLUSION, timezone.now() + timedelta(days=days))


def staff_block_extend(
    *, actor: User, user_id: int, until: datetime, reason: str
) -> ResponsiblePlay:
    """Staff extend a player's running cool-off or self-exclusion to ``until``, audited.

    The caller checks ``accounts.extend_block``. Never shortens and never starts a block (a block
    is the player's own choice): raises ``BlockNotActive`` when none is running,
    ``BlockCannotBeShortened`` when ``until`` is not later than its end, ``ReasonRequired``.
    The kind (cool-off or self-exclusion) is kept. Not idempotent: the same ``until`` twice is
    refused the second time (it would not extend).
    """
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise exceptions.ReasonRequired()
    with transaction.atomic():
        state = ResponsiblePlay.objects.select_for_update().filter(user_id=user_id).first()
        now = timezone.now()
        if state is None or state.blocked_until is None or state.blocked_until <= now:
            raise exceptions.BlockNotActive()
        if until <= state.blocked_until:
            raise exceptions.BlockCannotBeShortened(details={"blocked_until": state.blocked_until})
        before = state.blocked_until
        state.blocked_until = until
        state.save(update_fields=["blocked_until"])
        audit_log_record(
            actor=actor,
            action="responsible_block_extend",
            target_user=User.objects.get(pk=user_id),
            before={"block_kind": state.block_kind, "blocked_until": before.isoformat()},
            after={"block_kind": state.block_kind, "blocked_until": until.isoformat()},
            reason=reason,
        )
        return state


def purchase_limit_set(user_id: int, limit_cents: int | None) -> ResponsiblePlay:
    """Set the daily money-purchase limit (None: no limit); raising waits out the delay."""
    now = timezone.now()
    with transaction.atomic():
        state = _locked(user_id)
        _apply_due_limit(state, now)
        before = _limit_state(state)
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
        _player_choice_record(user_id, "responsible_play_limit", before, _limit_state(state))
        return state


def play_allowed_check(user_id: int) -> None:
    """Raise ``BirthDateRequired`` or ``PlayerNotOfAge`` unless the account passes the age gate,
    ``PlayBlocked`` during a cool-off or self-exclusion. Read-only, no lock, one query."""
    sql, params = play_gate_sql(user_id)
    with connection.cursor() as cursor:  # every round asks: plain SQL, no ORM query to compile
        cursor.execute(sql, params)
        row = cursor.fetchone()
    assert row is not None
    birth_date, blocked_until, allowed = row
    if not allowed:
        play_gate_raise(birth_date, blocked_until)


def play_gate_sql(user_id: int) -> tuple[str, list[Any]]:
    """``play_allowed_check`` as one row (``birth_date``, ``until``: the block's end or NULL,
    ``allowed``), for a round that takes its checks in one statement; when not allowed, pass the
    birth date and the block to ``play_gate_raise``. No such account is allowed: the caller's own
    lookups refuse it."""
    now = timezone.now()
    return (
        "SELECT u.birth_date, gate.until,"
        " COALESCE(u.birth_date <= %s, u.id IS NULL) AND gate.until IS NULL AS allowed"
        " FROM (SELECT (SELECT blocked_until FROM accounts_responsibleplay"
        " WHERE user_id = %s AND blocked_until > %s) AS until) AS gate"
        " LEFT JOIN accounts_user u ON u.id = %s",
        [latest_birth_date_of_age(timezone.localdate(now)), user_id, now, user_id],
    )


def play_gate_raise(birth_date: date | None, blocked_until: datetime | None) -> None:
    """Raise what ``play_allowed_check`` raises for a gate row that is not allowed (the age gate
    first, then the block)."""
    if birth_date is None:
        raise exceptions.BirthDateRequired()
    if birth_date > latest_birth_date_of_age(timezone.localdate()):
        raise exceptions.PlayerNotOfAge(details={"minimum_age": settings.PLAYER_MINIMUM_AGE})
    if blocked_until is not None:
        play_blocked_raise(blocked_until)


def play_blocked_raise(blocked_until: datetime) -> None:
    """Raise ``PlayBlocked`` for a block that has not ended."""
    raise exceptions.PlayBlocked(details={"blocked_until": blocked_until.isoformat()})


def purchase_allowed_check(user_id: int, price_cents: int, spent_today_cents: int) -> None:
    """Raise what ``play_allowed_check`` raises, or ``PurchaseLimitReached``, for a money
    purchase of ``price_cents``.

    One read of the five columns it needs: the account's birth date with its responsible-play row
    (the block, the limit and a pending limit that may have come into force)."""
    row = (
        User.objects.filter(pk=user_id)
        .values_list(
            "birth_date",
            "responsibleplay__blocked_until",
            "responsibleplay__daily_purchase_limit_cents",
            "responsibleplay__pending_purchase_limit_cents",
            "responsibleplay__pending_limit_effective_at",
        )
        .first()
    )
    if row is None:
        return  # no such account: the caller's own lookups refuse it
    birth_date, blocked_until, limit, pending_limit, pending_at = row
    now = timezone.now()
    if blocked_until is not None and blocked_until <= now:
        blocked_until = None
    if (
        birth_date is None
        or birth_date > latest_birth_date_of_age(timezone.localdate(now))
        or blocked_until is not None
    ):
        play_gate_raise(birth_date, blocked_until)
    if pending_at is not None and pending_at <= now:  # ``_apply_due_limit``'s rule
        limit = pending_limit
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
