"""The free-gold refill: a player whose balance is under ``REFILL_THRESHOLD_GOLD`` may claim
``REFILL_AMOUNT_GOLD`` once every ``REFILL_INTERVAL_HOURS`` (docs/decisions/0227).

Invariants:
- the checks (balance under the threshold, the interval since the last refill) are made under
  the wallet's row lock, so two concurrent claims take turns and the second sees the first: one
  refill per interval, whatever the concurrency;
- the credit's ledger key is derived from the previous refill (``refill:after:<id>``), so even a
  check that went wrong could not pay twice after the same refill (unique per wallet);
- a refused claim changes nothing (``RefillNotAvailable`` / ``RefillTooSoon`` with the next time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts import exceptions
from accounts.models import LedgerReason, RefillClaim

from .wallet import wallet_credit


@dataclass(frozen=True)
class RefillStatus:
    available: bool
    balance: int
    threshold: int
    amount: int
    interval_hours: int
    next_available_at: datetime | None


def _interval() -> timedelta:
    return timedelta(hours=settings.REFILL_INTERVAL_HOURS)


def _last_claim(user_id: int) -> RefillClaim | None:
    return RefillClaim.objects.filter(user_id=user_id).order_by("-created_at", "-pk").first()


_BALANCE_SQL = "SELECT balance FROM accounts_wallet WHERE user_id = %s"
_BALANCE_LOCK_SQL = _BALANCE_SQL + " FOR UPDATE"


def _balance(user_id: int, *, lock: bool) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_BALANCE_LOCK_SQL if lock else _BALANCE_SQL, [user_id])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def refill_status(user_id: int, now: datetime | None = None) -> RefillStatus:
    """Whether the player may claim a refill now, and when the next one is possible."""
    now = now or timezone.now()
    balance = _balance(user_id, lock=False)
    last = _last_claim(user_id)
    next_at = None if last is None else last.created_at + _interval()
    if next_at is not None and next_at <= now:
        next_at = None
    return RefillStatus(
        available=balance < settings.REFILL_THRESHOLD_GOLD and next_at is None,
        balance=balance,
        threshold=settings.REFILL_THRESHOLD_GOLD,
        amount=settings.REFILL_AMOUNT_GOLD,
        interval_hours=settings.REFILL_INTERVAL_HOURS,
        next_available_at=next_at,
    )


def refill_claim(user_id: int) -> tuple[RefillClaim, int]:
    """Pay the refill; returns the claim and the balance after it.

    Runs in the caller's transaction (``run_idempotent``) or opens one. Raises
    ``RefillNotAvailable`` (balance at or over the threshold) or ``RefillTooSoon`` (details:
    ``next_available_at``); then nothing changes. Not idempotent by itself: the HTTP route's
    Idempotency-Key replays the first answer.
    """
    if connection.in_atomic_block:
        return _refill_claim(user_id)
    with transaction.atomic():
        return _refill_claim(user_id)


def _refill_claim(user_id: int) -> tuple[RefillClaim, int]:
    now = timezone.now()
    balance = _balance(user_id, lock=True)  # the wallet's row lock: claims take turns
    last = _last_claim(user_id)
    if last is not None and now < last.created_at + _interval():
        next_at = last.created_at + _interval()
        raise exceptions.RefillTooSoon(details={"next_available_at": next_at.isoformat()})
    if balance >= settings.REFILL_THRESHOLD_GOLD:
        raise exceptions.RefillNotAvailable(
            details={"balance": balance, "threshold": settings.REFILL_THRESHOLD_GOLD}
        )
    amount = settings.REFILL_AMOUNT_GOLD
    key = f"refill:after:{last.pk if last else 0}"
    entry = wallet_credit(
        user_id, amount, reason=LedgerReason.FREE_REFILL, reference=key, idempotency_key=key
    )
    claim = RefillClaim.objects.create(
        user_id=user_id,
        amount=amount,
        balance_before=balance,
        ledger_entry_id=entry.pk,
        created_at=now,
    )
    return claim, entry.balance_after
