"""Staff actions on players. Every one writes an ``AuditLogEntry`` in the same transaction.

Invariants: no staff member moves gold on their own account; a grant or revoke above
``STAFF_GRANT_LIMIT``, beyond the staff member's ``STAFF_GRANT_DAILY_LIMIT`` or to a staff account
(for everyone, superusers included) only creates a ``GoldGrantRequest``, which moves gold once,
through the ledger, when a second staff member approves it; only a
superuser bans, unbans or edits a superuser.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import exceptions
from accounts.auth_state import auth_state_changed
from accounts.models import (
    AuditLogEntry,
    GoldGrantRequest,
    GrantRequestStatus,
    InviteCode,
    LedgerEntry,
    LedgerReason,
    User,
)

from .audit import audit_log_record
from .auth import user_tokens_revoke_all
from .wallet import wallet_credit, wallet_debit

MAX_REASON_LENGTH = 500

# Fields of a user whose change through the admin form is written to the audit log (with the
# groups and user permissions, and whether the password changed: never the hash).
AUDITED_USER_FIELDS = (
    "nickname",
    "phone_number",
    "rank",
    "vip_points",
    "level",
    "experience",
    "is_staff",
    "is_superuser",
)
AUDITED_USER_RELATIONS = ("groups", "user_permissions")
AUDITED_INVITE_CODE_FIELDS = ("code", "max_uses", "expires_at", "is_active", "note")
PASSWORD_CHANGED = "changed"  # noqa: S105  # an audit marker, not a password


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _user_relations(user_id: int) -> dict[str, list[str]]:
    user = User(pk=user_id)
    permissions = user.user_permissions.values_list("content_type__app_label", "codename")
    return {
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "user_permissions": sorted(f"{app}.{codename}" for app, codename in permissions),
    }


def user_audited_state(user_id: int) -> dict[str, Any]:
    """The audited fields of a user, row locked: read in the transaction before a form saves.

    The password hash is kept only to tell whether it changed; it is never written anywhere.
    """
    fields = ("is_active", "banned_until", "password", *AUDITED_USER_FIELDS)
    state = dict(User.objects.select_for_update().values(*fields).get(pk=user_id))
    return {**state, **_user_relations(user_id)}


def staff_user_saved(*, actor: User, user: User, before: dict[str, Any] | None) -> None:
    """Audit an admin form save of ``user`` (already saved, with its groups and permissions);
    ``before``: ``user_audited_state`` read before the save, None for a new user.

    Must run in the transaction of the save. A change of ``is_active`` is a ban or unban like
    ``user_set_active`` (a ban revokes every token; a ``user_ban`` / ``user_unban`` row); changes
    of the other audited fields make one ``user_change`` row with only the changed fields, before
    and after; a new password is recorded as ``"password": "changed"``, never its hash.
    Raises ``SuperuserProtected`` when a staff member who is not a superuser changed a superuser
    (the admin form does not offer it) or made anyone a superuser.
    """
    after = {field: getattr(user, field) for field in AUDITED_USER_FIELDS}
    after.update(_user_relations(user.pk))
    auth_state_changed(user.pk)  # the form may have changed the ban or the rank
    if before is None:
        audit_log_record(
            actor=actor,
            action="user_create",
            target_user=user,
            after={"is_active": user.is_active, **after},
        )
        return
    if not actor.is_superuser and (before["is_superuser"] or user.is_superuser):
        raise exceptions.SuperuserProtected()
    if before["is_active"] != user.is_active or before["banned_until"] != user.banned_until:
        if not user.is_active:
            user_tokens_revoke_all(user)  # a ban from the form is a ban: every session ends
        audit_log_record(
            actor=actor,
            action="user_unban" if user.is_active else "user_ban",
            target_user=user,
            before={
                "is_active": before["is_active"],
                "banned_until": _json_value(before["banned_until"]),
            },
            after={"is_active": user.is_active, "banned_until": _json_value(user.banned_until)},
            reason="admin change form",
        )
    changed = [
        field
        for field in (*AUDITED_USER_FIELDS, *AUDITED_USER_RELATIONS)
        if before[field] != after[field]
    ]
    before_values = {field: before[field] for field in changed}
    after_values = {field: after[field] for field in changed}
    if before["password"] != user.password:
        after_values["password"] = PASSWORD_CHANGED
    if after_values:
        audit_log_record(
            actor=actor,
            action="user_change",
            target_user=user,
            before=before_values,
            after=after_values,
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


def staff_grant_limit() -> int:
    """The largest grant or revoke (in gold, either sign) one staff member makes alone."""
    return int(settings.STAFF_GRANT_LIMIT)


def _moved_alone_last_day(actor: User) -> int:
    """Gold (grants plus revokes) ``actor`` moved without approval in the last 24 hours."""
    rows = AuditLogEntry.objects.filter(
        actor=actor,
        action__in=("gold_grant", "gold_revoke"),
        created_at__gte=timezone.now() - timedelta(days=1),
    ).values_list("before", "after")
    # Every gold_grant / gold_revoke row holds both balances (``_move_gold``).
    return sum(
        abs(after["balance"] - before["balance"]) for before, after in rows if before and after
    )


def _needs_approval(*, actor: User, user: User, amount: int) -> bool:
    """Above the per-grant limit, above the actor's daily total, or to a staff account.

    Must run in a transaction: locks the actor's row so their concurrent grants count each other.
    The lock is ``FOR NO KEY UPDATE``: rows that merely reference the actor (audit rows, refunds
    by the same staff member holding a wallet lock) take ``FOR KEY SHARE``, which it does not
    block, so it can never join a deadlock with them.
    """
    if abs(amount) > staff_grant_limit() or user.is_staff:
        return True
    actor_row = User.objects.select_for_update(no_key=True).filter(pk=actor.pk)
    actor_row.values_list("pk", flat=True).get()
    return _moved_alone_last_day(actor) + abs(amount) > int(settings.STAFF_GRANT_DAILY_LIMIT)


def _move_gold(
    *, actor: User, user: User, amount: int, reason: str, key: str, action_suffix: str = ""
) -> LedgerEntry:
    """One staff ledger entry and its audit row. Must run inside a transaction."""
    move = wallet_credit if amount > 0 else wallet_debit
    entry = move(
        user.pk,
        abs(amount),
        reason=LedgerReason.STAFF_GRANT if amount > 0 else LedgerReason.STAFF_REVOKE,
        reference=f"staff:{actor.pk}",
        idempotency_key=key,
    )
    audit_log_record(
        actor=actor,
        action=("gold_grant" if amount > 0 else "gold_revoke") + action_suffix,
        target_user=user,
        before={"balance": entry.balance_after - entry.delta},
        after={"balance": entry.balance_after, "ledger_entry": entry.pk},
        reason=reason,
    )
    return entry


def staff_gold_adjust(
    *, actor: User, user_id: int, amount: int, reason: str, idempotency_key: str
) -> LedgerEntry | GoldGrantRequest:
    """Grant (``amount`` > 0) or revoke (< 0) gold with a mandatory reason, audited.

    Within ``STAFF_GRANT_LIMIT`` the gold moves now and the ledger entry is returned. Above it,
    above the actor's ``STAFF_GRANT_DAILY_LIMIT`` for the last 24 hours, or for a staff account, a
    pending ``GoldGrantRequest`` is returned instead (audited ``gold_grant_request``), and gold
    moves only when another staff member approves it (``gold_grant_request_approve``).
    Runs in the caller's transaction or opens one. Idempotent per (player, key): a repeated key
    returns the first ledger entry or request and writes no second audit row. Raises
    ``InvalidAmount``, ``ReasonRequired``, ``UserNotFound``, ``SelfGrantForbidden``,
    ``InsufficientFunds``.
    """
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise exceptions.ReasonRequired()
    if not isinstance(amount, int) or amount == 0:
        raise exceptions.InvalidAmount()
    if actor.pk == user_id:
        raise exceptions.SelfGrantForbidden()
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise exceptions.UserNotFound()
    key = f"staff:{idempotency_key}"
    with transaction.atomic():
        replay = LedgerEntry.objects.filter(wallet_id=user_id, idempotency_key=key).first()
        if replay is not None:
            return replay
        filed = GoldGrantRequest.objects.filter(user=user, idempotency_key=key).first()
        if filed is not None:
            return filed
        if not _needs_approval(actor=actor, user=user, amount=amount):
            return _move_gold(actor=actor, user=user, amount=amount, reason=reason, key=key)
        request, created = GoldGrantRequest.objects.get_or_create(
            user=user,
            idempotency_key=key,
            defaults={"amount": amount, "reason": reason, "requested_by": actor},
        )
        if created:
            audit_log_record(
                actor=actor,
                action="gold_grant_request",
                target_user=user,
                after={"request": request.pk, "amount": amount, "status": request.status},
                reason=reason,
            )
        return request


def _grant_request_lock(request_id: int) -> GoldGrantRequest:
    request = (
        GoldGrantRequest.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        raise exceptions.GrantRequestNotFound()
    return request


def gold_grant_request_approve(*, actor: User, request_id: int) -> LedgerEntry:
    """Approve a pending grant request: its gold moves now, through the ledger, audited.

    ``actor`` must not be its requester nor its player. Locks the request, then the wallet.
    Idempotent: approving an approved request returns its ledger entry and writes nothing.
    Raises ``GrantRequestNotFound``, ``SecondApproverRequired``, ``SelfGrantForbidden``,
    ``GrantRequestNotPending`` (rejected), ``InsufficientFunds`` (a revoke above the balance: the
    request stays pending).
    """
    with transaction.atomic():
        request = _grant_request_lock(request_id)
        if request.status == GrantRequestStatus.APPROVED and request.ledger_entry is not None:
            return request.ledger_entry
        if request.status != GrantRequestStatus.PENDING:
            raise exceptions.GrantRequestNotPending()
        if actor.pk == request.requested_by_id:
            raise exceptions.SecondApproverRequired()
        if actor.pk == request.user_id:
            raise exceptions.SelfGrantForbidden()
        entry = _move_gold(
            actor=actor,
            user=request.user,
            amount=request.amount,
            reason=request.reason,
            key=f"grant-request:{request.pk}",
            action_suffix="_approve",
        )
        request.status = GrantRequestStatus.APPROVED
        request.decided_by = actor
        request.decided_at = timezone.now()
        request.ledger_entry = entry
        request.save(update_fields=["status", "decided_by", "decided_at", "ledger_entry"])
        return entry


def gold_grant_request_reject(*, actor: User, request_id: int, reason: str) -> GoldGrantRequest:
    """Reject a pending grant request (no gold moves), audited with the reason.

    ``actor`` must not be its requester. Rejecting a rejected request changes nothing. Raises
    ``GrantRequestNotFound``, ``SecondApproverRequired``, ``GrantRequestNotPending`` (approved),
    ``ReasonRequired``.
    """
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise exceptions.ReasonRequired()
    with transaction.atomic():
        request = _grant_request_lock(request_id)
        if request.status == GrantRequestStatus.REJECTED:
            return request
        if request.status != GrantRequestStatus.PENDING:
            raise exceptions.GrantRequestNotPending()
        if actor.pk == request.requested_by_id:
            raise exceptions.SecondApproverRequired()
        request.status = GrantRequestStatus.REJECTED
        request.decided_by = actor
        request.decided_at = timezone.now()
        request.save(update_fields=["status", "decided_by", "decided_at"])
        audit_log_record(
            actor=actor,
            action="gold_grant_request_reject",
            target_user=request.user,
            before={"request": request.pk, "status": GrantRequestStatus.PENDING},
            after={"request": request.pk, "status": request.status, "amount": request.amount},
            reason=reason,
        )
        return request


def staff_objects_deleted(*, actor: User, action: str, targets: list[str]) -> None:
    """Audit an admin delete (one row naming what went). Must run in the delete's transaction."""
    if targets:
        audit_log_record(
            actor=actor,
            action=action,
            target=f"{len(targets)} object(s)",
            before={"deleted": targets[:100]},
        )
