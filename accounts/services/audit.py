"""The audit log: one append-only row per staff action (who, when, what, before/after, why)."""

from __future__ import annotations

from typing import Any

from accounts.models import AuditLogEntry, User


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
    """Append one row. Call it inside the transaction of the action it records, so the row exists
    exactly when the action does. ``actor`` None: an operator's command, not a staff member.
    ``before`` / ``after`` must be JSON-serialisable."""
    return AuditLogEntry.objects.create(
        actor=actor,
        action=action,
        target_user=target_user,
        target=target or (str(target_user) if target_user else ""),
        before=before,
        after=after,
        reason=reason,
    )
