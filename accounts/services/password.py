"""Password changes: by the player (who knows the current one) and by staff in the admin.

Invariants:
- a change revokes every token and page session of the player (``user_tokens_revoke_all``: refresh
  tokens blacklisted; access tokens and page sessions refused through ``token_version``, which the
  session hash covers). The caller of the player's own change goes on with a fresh token pair or
  its refreshed session, chosen by the view;
- a wrong current password counts as a failed login toward the account's lockout (the key of
  ``user_login``), so a stolen access token cannot be used to guess the password;
- the current password is checked again under the user's row lock: of two concurrent changes
  with the same current password exactly one wins, the other is ``PasswordIncorrect``;
- a staff reset is audited (``user_password_reset``) without any hash in the row.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts import exceptions
from accounts.models import User

from .audit import audit_log_record
from .auth import (
    login_failure_record,
    login_lock_check,
    password_problems,
    user_tokens_revoke_all,
)


def user_password_change(
    user: User, *, current_password: str, new_password: str, ip_address: str | None
) -> None:
    """Change ``user``'s own password and revoke every other token and session of theirs.

    Raises ``LoginLocked`` (too many recent failed logins or password checks),
    ``PasswordIncorrect`` (recorded as a failed login) or ``WeakPassword`` (Django's validators,
    or the same password again). On success ``user`` holds the new password hash and token
    version, ready for ``update_session_auth_hash`` or a new token pair. Not idempotent.
    """
    lock_key = f"user:{user.pk}"  # the account's key in ``user_login``'s lockout
    now = timezone.now()
    login_lock_check(lock_key=lock_key, ip_address=ip_address, now=now)
    stored = User.objects.get(pk=user.pk)
    if not stored.check_password(current_password):
        login_failure_record(lock_key=lock_key, ip_address=ip_address, now=now)
        raise exceptions.PasswordIncorrect()
    problems = password_problems(
        new_password,
        site_id=stored.site_id,
        nickname=stored.nickname,
        phone_number=stored.phone_number,
    )
    if new_password == current_password:
        problems.append("The new password must differ from the current one.")
    if problems:
        raise exceptions.WeakPassword(details={"new_password": problems})
    with transaction.atomic(durable=True):
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.password != stored.password:  # changed since the check above
            raise exceptions.PasswordIncorrect()
        locked.set_password(new_password)
        locked.save(update_fields=["password"])
        user_tokens_revoke_all(locked)
    user.password = locked.password
    user.token_version = locked.token_version


def staff_password_reset_recorded(*, actor: User, user: User) -> None:
    """After the admin's password form saved ``user``'s new password (or made it unusable):
    revoke every token and page session of ``user`` and write one ``user_password_reset`` audit
    row (no hash). Must run in the transaction of the save."""
    user_tokens_revoke_all(user)
    audit_log_record(
        actor=actor,
        action="user_password_reset",
        target_user=user,
        after={"usable_password": user.has_usable_password(), "sessions_revoked": True},
        reason="admin password form",
    )
