"""Staff actions on players. Every one writes an ``AuditLogEntry`` in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from accounts import exceptions
from accounts.models import InviteCode, LedgerEntry, LedgerReason, User

from .audit import audit_log_record
from .auth import user_tokens_revoke_all
from .wallet import wallet_credit, wallet_debit

MAX_REASON_LENGTH = 500

# Fields of a user whose change through the admin form is written to the audit log.
AUDITED_USER_FIELDS = ("rank", "vip_points", "is_staff", "is_superuser")
AUDITED_INVITE_CODE_FIELDS = ("code", "max_uses", "expires_at", "is_active", "note")


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def user_audited_state(user_id: int) -> dict[str, Any]:
    """The audited fields of a user, row locked: read in the transaction before a form saves."""
    fields = ("is_active", *AUDITED_USER_FIELDS)
    return dict(User.objects.select_for_update().values(*fields).get(pk=user_id))


def staff_user_saved(*, actor: User, user: User, before: dict[str, Any] | None) -> None:
    """Audit an admin form save of ``user`` (already saved); ``before``: None for a new user.

    Must run in the transaction of the save. A change of ``is_active`` is a ban or unban like
    ``user_set_active`` (a ban revokes every token; a ``user_ban`` / ``user_unban`` row); changes
    of rank, VIP points and permissions make one ``user_change`` row with only the changed fields.
    """
    if before is None:
        audit_log_record(
            actor=actor,
            action="user_create",
            target_user=user,
            after={field: getattr(user, field) for field in ("is_active", *AUDITED_USER_FIELDS)},
        )
        return
    if before["is_active"] != user.is_active:
        if not user.is_active:
            user_tokens_revoke_all(user)  # a ban from the form is a ban: every session ends
        audit_log_record(
            actor=actor,
            action="user_unban" if user.is_active else "user_ban",
            target_user=user,
            before={"is_active": before["is_active"]},
            after={"is_active": user.is_active},
            reason="admin change form",
        )
    changed = [field for field in AUDITED_USER_FIELDS if before[field] != getattr(user, field)]
    if changed:
        audit_log_record(
            actor=actor,
            action="user_change",
            target_user=user,
            before={field: before[field] for field in changed},
            after={field: getattr(user, field) for field in changed},
        )


def invite_code_audited_state(code_id: int) -> dict[str, Any]:
    state = (
        InviteCode.objects.select_for_update().values(*AUDITED_INVITE_CODE_FIELDS).get(pk=code_id)
    )
    return {field: _json_value(value) for field, value in state.items()}


def staff_invite_code_saved(
    *, actor: User, code: InviteCode, before: dict[str, Any] | None
) -> None:
    """Audit an admin form save of one invite code (already saved). Must run in its transaction."""
    after = {field: _json_value(getattr(code, field)) for field in AUDITED_INVITE_CODE_FIELDS}
    if before is None:
        audit_log_record(actor=actor, action="invite_code_create", target=code.code, after=after)
        return
    changed = [field for field in AUDITED_INVITE_CODE_FIELDS if before[field] != after[field]]
    if changed:
        audit_log_record(
            actor=actor,
            action="invite_code_change",
            target=code.code,
            before={field: before[field] for field in changed},
            after={field: after[field] for field in changed},
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


def staff_objects_deleted(*, actor: User, action: str, targets: list[str]) -> None:
    """Audit an admin delete (one row naming what went). Must run in the delete's transaction."""
    if targets:
        audit_log_record(
            actor=actor,
            action=action,
            target=f"{len(targets)} object(s)",
            before={"deleted": targets[:100]},
        )
