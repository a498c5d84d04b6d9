"""Staff actions on players. Every one writes an ``AuditLogEntry`` in the same transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts import exceptions
from accounts.models import AuditLogEntry, LedgerEntry, LedgerReason, User

from .wallet import wallet_credit, wallet_debit

MAX_REASON_LENGTH = 500


def audit_log_record(
    *,
    actor: User | None,
    action: str,
    target_user: User | None = None,
    target: str = "",
    before: Any = None,
    after: Any = None,
    reason: str = "",
) -> AuditLogEntry:
    return AuditLogEntry.objects.create(
        actor=actor,
        action=action,
        target_user=target_user,
        target=target or (str(target_user) if target_user else ""),
        before=before,
        after=after,
        reason=reason,
    )


def staff_gold_adjust(
    *, actor: User, user_id: int, amount: int, reason: str, idempotency_key: str
) -> LedgerEntry:
    """Grant (``amount`` > 0) or revoke (< 0) gold with a mandatory reason, audited.

    Runs in the caller's transaction or opens one. Idempotent per (player, key): a repeated key
    returns the first ledger entry and writes no second audit row. Raises ``InvalidAmount``,
    ``ReasonRequired``, ``UserNotFound``, ``InsufficientFunds``.
    """
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise exceptions.ReasonRequired()
    if not isinstance(amount, int) or amount == 0:
        raise exceptions.InvalidAmount()
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise exceptions.UserNotFound()
    key = f"staff:{idempotency_key}"
    with transaction.atomic():
        replay = LedgerEntry.objects.filter(wallet_id=user_id, idempotency_key=key).first()
        if replay is not None:
            return replay
        move = wallet_credit if amount > 0 else wallet_debit
        entry = move(
            user_id,
            abs(amount),
            reason=LedgerReason.STAFF_GRANT if amount > 0 else LedgerReason.STAFF_REVOKE,
            reference=f"staff:{actor.pk}",
            idempotency_key=key,
        )
        audit_log_record(
            actor=actor,
            action="gold_grant" if amount > 0 else "gold_revoke",
            target_user=user,
            before={"balance": entry.balance_after - entry.delta},
            after={"balance": entry.balance_after, "ledger_entry": entry.pk},
            reason=reason,
        )
        return entry
