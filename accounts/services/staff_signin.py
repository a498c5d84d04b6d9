"""Staff sign-in to the admin and the second factor (TOTP authenticator + recovery codes).

Invariants:
- the password is checked by ``user_login``, so the admin shares the players' lockout
  (``LoginFailure`` rows, docs/decisions/0004-login-lockout.md) with the API and the pages;
- every attempt that reaches the credentials check writes exactly one audit row:
  ``staff_sign_in`` on success, ``staff_sign_in_failed`` with the reason otherwise;
- the caller sees only ``LoginLocked`` or one ``StaffSignInFailed``: an unknown account, a wrong
  password, a player's or a banned account and a wrong or missing second factor look the same;
- a recovery code works once: its device row is locked while it is checked and the code is
  deleted in that transaction, so two concurrent uses cannot both pass;
- a staff member has at most one authenticator and one set of recovery codes; replacing them
  ends every session they verified (the session names a device that no longer exists).
"""

from __future__ import annotations

from base64 import b32encode
from dataclasses import dataclass

import django_otp
from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import exceptions
from accounts.models import User
from accounts.selectors import user_get_by_login

from .audit import audit_log_record
from .auth import user_login

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_DEVICE_NAME = "authenticator"
RECOVERY_DEVICE_NAME = "recovery codes"
TOTP_DIGITS = 6


@dataclass(frozen=True)
class StaffSignIn:
    user: User
    device: Device | None  # the second factor that verified the sign-in; None when not asked


@dataclass(frozen=True)
class TotpEnrolment:
    config_url: str  # otpauth:// URL for the authenticator app (shown once, holds the secret)
    secret: str  # the same secret in base32, for typing into an app by hand
    recovery_codes: list[str]  # shown once; only their use is checked later


def _refuse(
    *, identifier: str, user: User | None, reason: str, ip_address: str | None
) -> exceptions.StaffSignInFailed:
    audit_log_record(
        actor=None,
        action="staff_sign_in_failed",
        target_user=user,
        target=identifier[:200],
        after={"reason": reason, "ip_address": ip_address},
    )
    return exceptions.StaffSignInFailed()


def staff_sign_in(
    *,
    identifier: str,
    password: str,
    second_factor: str | None,
    ip_address: str | None,
) -> StaffSignIn:
    """Check a staff member's password (with the shared lockout) and, when ``second_factor`` is
    not None, their authenticator code or one recovery code.

    Raises ``LoginLocked`` while the account (or the name) is locked out, else
    ``StaffSignInFailed`` for any other refusal. Each call writes one audit row. Not idempotent:
    a failure counts toward the lockout, a recovery code is used up, a TOTP code cannot be
    replayed.
    """
    try:
        user = user_login(identifier=identifier, password=password, ip_address=ip_address).user
    except exceptions.LoginLocked:
        audit_log_record(
            actor=None,
            action="staff_sign_in_failed",
            target_user=user_get_by_login(identifier),
            target=identifier[:200],
            after={"reason": "login_locked", "ip_address": ip_address},
        )
        raise
    except (exceptions.InvalidCredentials, exceptions.AccountBanned) as error:
        user_or_none = user_get_by_login(identifier)
        raise _refuse(
            identifier=identifier, user=user_or_none, reason=error.code, ip_address=ip_address
        ) from error
    if not user.is_staff:
        raise _refuse(identifier=identifier, user=user, reason="not_staff", ip_address=ip_address)
    device = None
    if second_factor is not None:
        if not second_factor_enrolled(user):
            raise _refuse(
                identifier=identifier,
                user=user,
                reason="second_factor_not_enrolled",
                ip_address=ip_address,
            )
        device = second_factor_verify(user, second_factor)
        if device is None:
            raise _refuse(
                identifier=identifier,
                user=user,
                reason="second_factor_invalid",
                ip_address=ip_address,
            )
    after: dict[str, object] = {"ip_address": ip_address, "second_factor": None}
    if isinstance(device, TOTPDevice):
        after["second_factor"] = "authenticator"
    elif isinstance(device, StaticDevice):
        after["second_factor"] = "recovery_code"
        after["recovery_codes_left"] = device.token_set.count()
    audit_log_record(actor=user, action="staff_sign_in", target_user=user, after=after)
    return StaffSignIn(user=user, device=device)


def second_factor_enrolled(user: User) -> bool:
    """Whether ``user`` has a confirmed authenticator or recovery codes."""
    return django_otp.user_has_device(user)


def second_factor_verify(user: User, token: str) -> Device | None:
    """The device of ``user`` that accepts ``token`` (6 digits: the authenticator; otherwise a
    recovery code, used up here), or None. Each device is row-locked while it checks, and
    django-otp slows down repeated failures on it (an increasing delay per device)."""
    token = "".join(token.split()).lower()
    if not token:
        return None
    is_authenticator_code = token.isdigit() and len(token) == TOTP_DIGITS
    devices: list[Device] = list(
        TOTPDevice.objects.devices_for_user(user, confirmed=True)
        if is_authenticator_code
        else StaticDevice.objects.devices_for_user(user, confirmed=True)
    )
    for device in devices:
        verified = django_otp.verify_token(user, device.persistent_id, token)
        if verified is not None:
            return verified
    return None


def _recovery_codes_issue(user: User) -> list[str]:
    """Replace every recovery code of ``user``. Must run inside a transaction."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes: list[str] = []
    while len(codes) < RECOVERY_CODE_COUNT:
        code = StaticToken.random_token()
        if code not in codes:
            codes.append(code)
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def _staff_locked(user: User) -> User:
    locked = User.objects.select_for_update().get(pk=user.pk)
    if not locked.is_staff:
        raise exceptions.NotStaff()
    return locked


@transaction.atomic(durable=True)
def staff_totp_enrol(user: User, *, replace: bool = False) -> TotpEnrolment:
    """Give a staff member a new authenticator secret and ten recovery codes.

    Raises ``NotStaff``; ``SecondFactorAlreadyEnrolled`` when they have an authenticator and
    ``replace`` is False. With ``replace``, the old authenticator and codes stop working at once,
    and so do the sessions they verified. Audited as ``staff_second_factor_enrol``. Concurrent
    enrolments of one account are serialised on the user's row.
    """
    locked = _staff_locked(user)
    had_authenticator = TOTPDevice.objects.filter(user=locked).exists()
    if had_authenticator and not replace:
        raise exceptions.SecondFactorAlreadyEnrolled()
    TOTPDevice.objects.filter(user=locked).delete()
    device = TOTPDevice.objects.create(user=locked, name=AUTHENTICATOR_DEVICE_NAME, confirmed=True)
    codes = _recovery_codes_issue(locked)
    audit_log_record(
        actor=None,
        action="staff_second_factor_enrol",
        target_user=locked,
        after={"replaced": had_authenticator, "recovery_codes": len(codes)},
    )
    return TotpEnrolment(
        config_url=device.config_url,
        secret=b32encode(device.bin_key).decode(),
        recovery_codes=codes,
    )


@transaction.atomic(durable=True)
def staff_recovery_codes_renew(user: User) -> list[str]:
    """Replace a staff member's recovery codes with ten new ones (the old ones stop working).

    Raises ``NotStaff``. Audited as ``staff_recovery_codes_renew``. Not idempotent.
    """
    locked = _staff_locked(user)
    codes = _recovery_codes_issue(locked)
    audit_log_record(
        actor=None,
        action="staff_recovery_codes_renew",
        target_user=locked,
        after={"recovery_codes": len(codes)},
    )
    return codes
