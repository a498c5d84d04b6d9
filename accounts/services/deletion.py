"""Deleting one's account: asked for with the password, carried out after a grace period
(docs/decisions/0229-account-deletion.md).

Invariants:
- asking needs the current password (a wrong one counts toward the login lockout, like a
  password change) and signs the player out everywhere (every token and page session revoked);
- logging in again within ``ACCOUNT_DELETION_GRACE_DAYS`` keeps the account (``user_login``);
- once the grace period has passed a beat job anonymises the account: site_id, nickname, phone
  number, e-mail, birth date and language are replaced or cleared, the password made unusable,
  every token revoked and the user deactivated; the wallet, the ledger, rounds and purchases are
  kept (accounting) under the anonymous row. Anonymising is idempotent and audited.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import exceptions
from accounts.models import User

from .audit import audit_log_record
from .auth import login_failure_record, login_lock_check, user_tokens_revoke_all


def account_deletion_request(user: User, *, password: str, ip_address: str | None) -> datetime:
    """Schedule the player's account for anonymisation; returns when it will happen.

    Raises ``LoginLocked`` or ``PasswordIncorrect`` (recorded as a failed login). Idempotent in
    effect: asking again keeps the first request's time.
    """
    lock_key = f"user:{user.pk}"
    now = timezone.now()
    login_lock_check(lock_key=lock_key, ip_address=ip_address, now=now)
    stored = User.objects.get(pk=user.pk)
    if not stored.check_password(password):
        login_failure_record(lock_key=lock_key, ip_address=ip_address, now=now)
        raise exceptions.PasswordIncorrect()
    with transaction.atomic(durable=True):
        User.objects.filter(pk=user.pk, deletion_requested_at__isnull=True).update(
            deletion_requested_at=now
        )
        locked = User.objects.get(pk=user.pk)
        user_tokens_revoke_all(locked)
    user.deletion_requested_at = locked.deletion_requested_at
    user.token_version = locked.token_version
    assert locked.deletion_requested_at is not None
    return locked.deletion_requested_at + timedelta(days=settings.ACCOUNT_DELETION_GRACE_DAYS)


def account_anonymise(user_id: int, *, now: datetime | None = None) -> bool:
    """Anonymise one account whose grace period has passed. False when it is not due (never
    asked, cancelled by a login, still in its grace period) or already anonymised."""
    now = now or timezone.now()
    due_before = now - timedelta(days=settings.ACCOUNT_DELETION_GRACE_DAYS)
    with transaction.atomic():
        user = (
            User.objects.select_for_update()
            .filter(
                pk=user_id,
                anonymised_at__isnull=True,
                deletion_requested_at__isnull=False,
                deletion_requested_at__lte=due_before,
            )
            .first()
        )
        if user is None:
            return False
        anonymous = f"deleted_{user.pk}"
        user.site_id = anonymous
        user.nickname = anonymous[:20]
        user.phone_number = "+0" + str(user.pk).zfill(14)  # no country code 0: never a real one
        user.email = ""
        user.email_verified_at = None
        user.birth_date = None
        user.language = ""
        user.is_active = False
        user.banned_until = None
        user.anonymised_at = now
        user.set_unusable_password()
        user.save()
        user_tokens_revoke_all(user)
        requested_at = user.deletion_requested_at
        audit_log_record(
            actor=None,
            action="account_anonymised",
            target_user=user,
            after={"requested_at": requested_at.isoformat() if requested_at else None},
            reason="deletion requested by the player; grace period over",
        )
    return True


def accounts_anonymise_due(now: datetime | None = None) -> int:
    """Anonymise every account whose grace period has passed. Returns how many."""
    now = now or timezone.now()
    due_before = now - timedelta(days=settings.ACCOUNT_DELETION_GRACE_DAYS)
    ids = User.objects.filter(
        anonymised_at__isnull=True,
        deletion_requested_at__isnull=False,
        deletion_requested_at__lte=due_before,
    ).values_list("pk", flat=True)
    return sum(account_anonymise(user_id, now=now) for user_id in list(ids))
