"""Account state changes: signup, login, tokens, profile, bans and invite codes.

Invariants:
- an invite code is consumed by one conditional UPDATE, so concurrent signups can never take more
  uses than ``max_uses`` (the CHECK constraint is the last line of defence);
- a signup either creates the user and consumes the code, or does neither;
- refreshing rotates the refresh token; presenting an already-rotated token revokes every token of
  its owner (refresh tokens blacklisted, access tokens invalidated through ``token_version``);
- logging out revokes the login session of the refresh token: its access tokens are refused at
  once (``User.revoked_sessions``), other sessions keep working;
- every change of a token version, ``is_active``, ``banned_until`` or ``revoked_sessions`` calls
  ``auth_state_changed`` in its transaction, so the cached authentication state is never older
  than the next request (docs/decisions/0150-auth-state-cache.md).
"""

from __future__ import annotations

import hmac
import math
import secrets
import time
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import UntypedToken

from accounts import exceptions, metrics
from accounts.auth_state import auth_state_changed
from accounts.models import InviteCode, LedgerReason, LoginFailure, Rank, User
from accounts.selectors import login_name_is_taken, user_get_by_login
from accounts.tokens import SESSION_CLAIM, TOKEN_VERSION_CLAIM, token_pair_for_user
from casinoclub.errors import ApplicationError

from .audit import audit_log_record
from .responsible import age_gate_check
from .wallet import wallet_credit, wallet_open


@dataclass(frozen=True)
class LoginResult:
    user: User
    tokens: dict[str, str]


# ---------------------------------------------------------------- invite codes


def _invite_code_failure(code: str) -> exceptions.InviteCodeInvalid:
    invite = InviteCode.objects.filter(code=code).first()
    if invite is None or not invite.is_active:
        return exceptions.InviteCodeInvalid()
    if invite.expires_at is not None and invite.expires_at <= timezone.now():
        return exceptions.InviteCodeExpired()
    return exceptions.InviteCodeUsedUp()


def _usable_invite_codes(code: str):  # type: ignore[no-untyped-def]  # a QuerySet[InviteCode]
    return InviteCode.objects.filter(code=code, is_active=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()),
        Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")),
    )


def _is_master_invite_code(code: str) -> bool:
    """The never-exhausted code of ``MASTER_INVITE_CODE``; there is none when it is unset."""
    master: str | None = settings.MASTER_INVITE_CODE
    if not master:
        return False
    return hmac.compare_digest(code.encode(), master.encode())


def invite_code_check(code: str) -> None:
    """Raise the matching ``InviteCodeInvalid`` unless ``code`` could be used right now."""
    if _is_master_invite_code(code):
        return
    if not _usable_invite_codes(code).exists():
        raise _invite_code_failure(code)


def _invite_code_consume(code: str) -> InviteCode | None:
    """Take one use of ``code`` atomically. Must run inside a transaction. None: master code."""
    if _is_master_invite_code(code):
        return None
    if _usable_invite_codes(code).update(uses=F("uses") + 1) != 1:
        raise _invite_code_failure(code)
    return InviteCode.objects.get(code=code)


AUDITED_CODES_LISTED = 100  # an audit row names at most this many codes


def invite_codes_create(
    *,
    count: int,
    max_uses: int | None,
    expires_at: datetime | None,
    created_by: User | None = None,
    note: str = "",
    source: str = "admin",
) -> list[InviteCode]:
    """Create ``count`` random 8-character codes, audited as one ``invite_codes_create`` row.

    ``created_by`` is the acting staff member (None from ``manage.py``: ``source`` names it).
    Not idempotent: every call creates new codes.
    """
    codes = [
        InviteCode(
            code=secrets.token_hex(4).upper(),
            max_uses=max_uses,
            expires_at=expires_at,
            created_by=created_by,
            note=note,
        )
        for _ in range(count)
    ]
    with transaction.atomic():
        created = InviteCode.objects.bulk_create(codes)
        audit_log_record(
            actor=created_by,
            action="invite_codes_create",
            target=f"{len(created)} invite code(s) via {source}",
            after={
                "count": len(created),
                "codes": [code.code for code in created[:AUDITED_CODES_LISTED]],
                "max_uses": max_uses,
                "expires_at": expires_at.isoformat() if expires_at else None,
                "note": note,
            },
        )
    return created


def invite_codes_set_active(*, actor: User, code_ids: list[int], is_active: bool) -> int:
    """Activate or deactivate codes, audited as one row listing the codes that changed.

    Idempotent: codes already in that state are left alone and not listed. Returns how many
    changed.
    """
    with transaction.atomic():
        changing = list(
            InviteCode.objects.select_for_update()
            .filter(pk__in=code_ids)
            .exclude(is_active=is_active)
            .order_by("pk")
            .values_list("code", flat=True)
        )
        if not changing:
            return 0
        InviteCode.objects.filter(code__in=changing).update(is_active=is_active)
        audit_log_record(
            actor=actor,
            action="invite_codes_activate" if is_active else "invite_codes_deactivate",
            target=f"{len(changing)} invite code(s)",
            before={"is_active": not is_active},
            after={"is_active": is_active, "codes": changing[:AUDITED_CODES_LISTED]},
        )
    return len(changing)


# ---------------------------------------------------------------- signup and profile


_CONSTRAINT_ERRORS: dict[str, type[Exception]] = {
    "site_id": exceptions.SiteIdTaken,
    "nickname": exceptions.NicknameTaken,
    "phone_number": exceptions.PhoneNumberTaken,
}


def _raise_if_taken(
    *,
    site_id: str | None,
    nickname: str | None,
    phone_number: str | None,
    exclude_pk: int | None = None,
) -> None:
    """The friendly pre-check; ``User.save`` (the ``LoginName`` registry) enforces it race-free.

    A site_id or nickname is taken when another player's site_id or nickname looks like it
    (docs/decisions/0135-abuse-hardening.md), not only when it is equal."""
    users = User.objects.exclude(pk=exclude_pk) if exclude_pk else User.objects.all()
    if site_id is not None and (
        users.filter(site_id=site_id).exists()
        or login_name_is_taken(site_id, exclude_user_id=exclude_pk)
    ):
        raise exceptions.SiteIdTaken()
    if nickname is not None and (
        users.alias(nickname_lower=Lower("nickname"))
        .filter(nickname_lower=nickname.lower())
        .exists()
        or login_name_is_taken(nickname, exclude_user_id=exclude_pk)
    ):
        raise exceptions.NicknameTaken()
    if phone_number is not None and users.filter(phone_number=phone_number).exists():
        raise exceptions.PhoneNumberTaken()


def _raise_from_integrity_error(error: IntegrityError) -> None:
    """Translate a unique-constraint race into the same error the pre-check would give."""
    text = str(error)
    for field, error_class in _CONSTRAINT_ERRORS.items():
        if field in text:
            raise error_class() from error
    raise error


@transaction.atomic(durable=True)
def user_signup(
    *,
    site_id: str,
    nickname: str,
    phone_number: str,
    password: str,
    invite_code: str,
    birth_date: date,
) -> User:
    """Create a player with ``invite_code`` (already-normalized fields).

    Raises ``InviteCode*``, ``SiteIdTaken``, ``NicknameTaken``, ``PhoneNumberTaken`` or
    ``WeakPassword``, ``AgeRestricted``. Not idempotent: a second call with the same site_id fails
    with SiteIdTaken.

    The invite code is checked before anything else and consumed before the identity checks, so
    only a caller holding a usable code learns whether a phone number, site_id or nickname is
    registered (the consumption rolls back with the failed signup).
    """
    invite_code_check(invite_code)
    age_gate_check(birth_date)
    password_errors = password_problems(
        password, site_id=site_id, nickname=nickname, phone_number=phone_number
    )
    if password_errors:
        raise exceptions.WeakPassword(details={"password": password_errors})
    invite = _invite_code_consume(invite_code)
    _raise_if_taken(site_id=site_id, nickname=nickname, phone_number=phone_number)
    return user_create(
        site_id=site_id,
        nickname=nickname,
        phone_number=phone_number,
        password_hash=make_password(password),
        invite_code=invite,
        birth_date=birth_date,
    )


def user_signup_problems(
    *,
    invite_code: str | None,
    birth_date: date | None,
    password: str | None,
    site_id: str,
    nickname: str,
    phone_number: str,
) -> dict[str, ApplicationError]:
    """Every signup rule a form may report at once, by field; None skips a field's check. Read-only.

    The invite code, the age gate and the password rules: none of them tells whether a site ID,
    nickname or phone number is registered (that stays behind a usable code, in ``user_signup``).
    """
    problems: dict[str, ApplicationError] = {}
    if invite_code is not None:
        try:
            invite_code_check(invite_code)
        except ApplicationError as error:
            problems["invite_code"] = error
    if birth_date is not None:
        try:
            age_gate_check(birth_date)
        except ApplicationError as error:
            problems["birth_date"] = error
    if password is not None:
        errors = password_problems(
            password, site_id=site_id, nickname=nickname, phone_number=phone_number
        )
        if errors:
            problems["password"] = exceptions.WeakPassword(details={"password": errors})
    return problems


def password_problems(
    password: str, *, site_id: str, nickname: str, phone_number: str
) -> list[str]:
    """What Django's password validators (settings) say about ``password`` for this player."""
    candidate = User(site_id=site_id, nickname=nickname, phone_number=phone_number)
    try:
        validate_password(password, user=candidate)
    except ValidationError as error:
        return list(error.messages)
    return []


def user_create(
    *,
    site_id: str,
    nickname: str,
    phone_number: str,
    password_hash: str,
    rank: str = Rank.STANDARD,
    invite_code: InviteCode | None = None,
    birth_date: date | None = None,
) -> User:
    """Create a player with their wallet and the signup bonus (a ledger entry), like signup.

    Must run inside a transaction. Fields must already be normalized and validated; the password
    already hashed (``make_password``). Raises ``SiteIdTaken``, ``NicknameTaken`` or
    ``PhoneNumberTaken`` when a unique constraint refuses the row (nothing is written then).
    """
    try:
        with transaction.atomic():
            user = User.objects.create(
                site_id=site_id,
                nickname=nickname,
                phone_number=phone_number,
                password=password_hash,
                rank=rank,
                invite_code=invite_code,
                birth_date=birth_date,
            )
    except IntegrityError as error:
        _raise_from_integrity_error(error)
        raise
    wallet_open(user)
    if settings.SIGNUP_BONUS_GOLD > 0:
        wallet_credit(
            user.pk,
            settings.SIGNUP_BONUS_GOLD,
            reason=LedgerReason.SIGNUP_BONUS,
            reference=f"signup:{user.pk}",
            idempotency_key="signup",
        )
    return user


@transaction.atomic(durable=True)
def user_update_profile(
    user: User, *, nickname: str | None = None, phone_number: str | None = None
) -> User:
    """Change the nickname and/or phone number (already normalized). Raises ``*Taken``."""
    _raise_if_taken(site_id=None, nickname=nickname, phone_number=phone_number, exclude_pk=user.pk)
    fields: list[str] = []
    if nickname is not None:
        user.nickname, fields = nickname, [*fields, "nickname"]
    if phone_number is not None:
        user.phone_number, fields = phone_number, [*fields, "phone_number"]
    if fields:
        try:
            with transaction.atomic():
                user.save(update_fields=fields)
        except IntegrityError as error:
            _raise_from_integrity_error(error)
            raise
    return user


# ---------------------------------------------------------------- login and tokens


def _lock_key(identifier: str, user: User | None) -> str:
    return f"user:{user.pk}" if user else f"name:{identifier.strip().lower()[:56]}"


def login_lock_key(identifier: str) -> str:
    """The lockout key of a login name: its account's when it names one, else the name's."""
    return _lock_key(identifier, user_get_by_login(identifier))


def _failures(lock_key: str, *, ip_address: str | None) -> QuerySet[LoginFailure]:
    """The failures of ``lock_key`` from one client address (None: the address was unknown)."""
    failures = LoginFailure.objects.filter(lock_key=lock_key)
    if ip_address:
        return failures.filter(ip_address=ip_address)
    return failures.filter(ip_address__isnull=True)


def login_lock_check(*, lock_key: str, ip_address: str | None, now: datetime) -> None:
    """Raise ``LoginLocked`` (with ``retry_after_minutes``) when the account is locked for this
    client address.

    Locked when, within ``LOGIN_LOCK_WINDOW``, this address failed ``LOGIN_LOCK_MAX_FAILURES``
    times for the account, or all addresses together ``LOGIN_LOCK_ACCOUNT_MAX_FAILURES`` times
    (docs/decisions/0138-login-lockout-per-address.md). Reads only.
    """
    window = settings.LOGIN_LOCK_WINDOW
    since = now - window
    unlocks_at: list[datetime] = []
    per_address = _failures(lock_key, ip_address=ip_address)
    every_address = LoginFailure.objects.filter(lock_key=lock_key)
    for limit, failures in (
        (settings.LOGIN_LOCK_MAX_FAILURES, per_address),
        (settings.LOGIN_LOCK_ACCOUNT_MAX_FAILURES, every_address),
    ):
        recent = list(
            failures.filter(created_at__gt=since)
            .order_by("-created_at")
            .values_list("created_at", flat=True)[:limit]
        )
        if len(recent) >= limit:
            unlocks_at.append(recent[-1] + window)
    if unlocks_at:
        minutes = max(1, math.ceil((max(unlocks_at) - now).total_seconds() / 60))
        metrics.auth_login_locked_total.inc()
        raise exceptions.LoginLocked(extra={"retry_after_minutes": minutes})


def login_failure_record(*, lock_key: str, ip_address: str | None, now: datetime) -> None:
    """Remember one failed login of ``lock_key`` from ``ip_address``."""
    LoginFailure.objects.create(lock_key=lock_key, ip_address=ip_address, created_at=now)


def login_failures_clear(*, lock_key: str, ip_address: str | None) -> None:
    """Forget the failures of ``lock_key`` from this address (after a successful login).

    Failures from other addresses stay: they still count toward the account-wide ceiling, so a
    guesser cannot reset it by waiting for the owner to log in.
    """
    _failures(lock_key, ip_address=ip_address).delete()


def user_login(*, identifier: str, password: str, ip_address: str | None) -> LoginResult:
    """Log in by site_id or nickname from the client address ``ip_address``.

    Raises ``LoginLocked`` (429, with ``retry_after_minutes``) after too many recent failures for
    the account from this address or from all addresses (``login_lock_check``),
    ``InvalidCredentials`` for a wrong login or password, ``AccountBanned`` for an inactive user
    with the right password.
    """
    user = user_get_by_login(identifier)
    lock_key = _lock_key(identifier, user)
    now = timezone.now()
    login_lock_check(lock_key=lock_key, ip_address=ip_address, now=now)

    if user is None:
        User().set_password(password)  # same hashing cost as a real check: no user enumeration
        is_valid = False
    else:
        is_valid = user.check_password(password)
    if not is_valid:
        login_failure_record(lock_key=lock_key, ip_address=ip_address, now=now)
        raise exceptions.InvalidCredentials()
    assert user is not None
    user_ban_lift_if_ended(user)
    if not user.is_active:
        raise exceptions.AccountBanned()
    login_failures_clear(lock_key=lock_key, ip_address=ip_address)
    # Logging in within the deletion grace period keeps the account (docs/decisions/0229).
    User.objects.filter(pk=user.pk).update(last_login=now, deletion_requested_at=None)
    user.deletion_requested_at = None
    return LoginResult(user=user, tokens=token_pair_for_user(user))


def login_failures_purge(*, older_than: datetime) -> int:
    deleted, _ = LoginFailure.objects.filter(created_at__lt=older_than).delete()
    return deleted


def _verified_refresh_payload(raw_token: str) -> dict[str, object]:
    try:
        # Checks signature and expiry, not the blacklist.
        token = UntypedToken(raw_token)  # type: ignore[arg-type]  # the stubs type it as Token
    except TokenError as error:
        raise exceptions.RefreshTokenInvalid() from error
    if token.get("token_type") != "refresh":
        raise exceptions.RefreshTokenInvalid()
    return dict(token.payload)


def token_refresh(raw_token: str) -> dict[str, str]:
    """Rotate a refresh token: blacklist it and return a new access + refresh pair.

    Raises ``RefreshTokenInvalid`` or, when the token was already rotated or logged out,
    ``RefreshTokenReused`` after revoking every token of its owner. Concurrent refreshes of one
    token are serialised on its row: exactly one wins.
    """
    payload = _verified_refresh_payload(raw_token)
    with transaction.atomic(durable=True):
        outstanding = (
            OutstandingToken.objects.select_for_update().filter(jti=payload["jti"]).first()
        )
        if outstanding is None or outstanding.user_id is None:
            raise exceptions.RefreshTokenInvalid()
        user = User.objects.get(pk=outstanding.user_id)
        if payload.get(TOKEN_VERSION_CLAIM) != user.token_version:
            # Revoked with every token of its era (logout-all, a password change, a ban): already
            # dead, so its return is no sign of theft and must not end the sessions started since.
            raise exceptions.RefreshTokenInvalid()
        is_reused = BlacklistedToken.objects.filter(token=outstanding).exists()
        if not is_reused:
            if not user.is_active:
                raise exceptions.AccountBanned()
            session_id = payload.get(SESSION_CLAIM)
            if session_id is not None and session_id in user.revoked_sessions:
                raise exceptions.RefreshTokenInvalid()
            BlacklistedToken.objects.create(token=outstanding)
            # The same login session goes on (a token issued before sessions had ids starts one).
            return token_pair_for_user(
                user, session_id=session_id if isinstance(session_id, str) else None
            )
    user_tokens_revoke_all(user)
    raise exceptions.RefreshTokenReused()


@transaction.atomic(durable=True)
def user_logout(user: User, raw_refresh_token: str) -> None:
    """End the login session of one refresh token of ``user``: the token is blacklisted and every
    access token of its session is refused from now on. Idempotent. Raises ``TokenNotYours``."""
    payload = _verified_refresh_payload(raw_refresh_token)
    outstanding = OutstandingToken.objects.filter(jti=payload["jti"]).first()
    if outstanding is None:
        raise exceptions.RefreshTokenInvalid()
    if outstanding.user_id != user.pk:
        raise exceptions.TokenNotYours()
    BlacklistedToken.objects.get_or_create(token=outstanding)
    session_id = payload.get(SESSION_CLAIM)
    if isinstance(session_id, str):
        user_session_revoke(user, session_id)


MAX_REVOKED_SESSIONS = 100  # more logged-out sessions alive at once: revoke every token instead


def user_session_revoke(user: User, session_id: str) -> None:
    """Refuse every token of the login session ``session_id`` of ``user``. Idempotent.

    The entry is kept as long as an access token of the session can live, then pruned by the next
    revocation. Past ``MAX_REVOKED_SESSIONS`` live entries (a player logging in and out in a loop)
    every token of ``user`` is revoked instead, so the row stays small.
    """
    now = int(time.time())
    keep_until = now + int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds()) + 1
    with transaction.atomic():
        stored = (
            User.objects.select_for_update()
            .values_list("revoked_sessions", flat=True)
            .get(pk=user.pk)
        )
        revoked = {sid: until for sid, until in (stored or {}).items() if until > now}
        revoked[session_id] = keep_until
        if len(revoked) > MAX_REVOKED_SESSIONS:
            User.objects.filter(pk=user.pk).update(revoked_sessions={})
            user_tokens_revoke_all(user)
            revoked = {}
        else:
            User.objects.filter(pk=user.pk).update(revoked_sessions=revoked)
            auth_state_changed(user.pk)
    user.revoked_sessions = revoked


def user_tokens_revoke_all(user: User) -> None:
    """Blacklist every refresh token of ``user`` and invalidate their access tokens. Idempotent."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
        auth_state_changed(user.pk)
        outstanding = OutstandingToken.objects.filter(user_id=user.pk).exclude(
            blacklistedtoken__isnull=False
        )
        BlacklistedToken.objects.bulk_create(
            [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
        )
    user.refresh_from_db(fields=["token_version"])


def user_set_active(
    user: User,
    *,
    is_active: bool,
    actor: User | None,
    reason: str = "",
    banned_until: datetime | None = None,
) -> None:
    """Ban (``is_active=False``: every token revoked at once) or unban a user.

    ``actor`` is the staff member acting (None: an operator's script or a ban that ended).
    ``banned_until``: when the ban ends by itself (None: until lifted); ignored for an unban.
    A change of state writes a ``user_ban`` / ``user_unban`` audit row in the same transaction;
    banning an already banned user revokes their tokens again, sets the new end and writes a row
    only if the end changed. Raises ``SuperuserProtected`` when a staff member who is not a
    superuser acts on a superuser, ``InvalidBanEnd`` for an end in the past.
    """
    if actor is not None and user.is_superuser and not actor.is_superuser:
        raise exceptions.SuperuserProtected()
    if is_active:
        banned_until = None
    elif banned_until is not None and banned_until <= timezone.now():
        raise exceptions.InvalidBanEnd()
    with transaction.atomic():
        was_active, was_banned_until = (
            User.objects.select_for_update()
            .filter(pk=user.pk)
            .values_list("is_active", "banned_until")
            .get()
        )
        User.objects.filter(pk=user.pk).update(is_active=is_active, banned_until=banned_until)
        auth_state_changed(user.pk)
        if not is_active:
            user_tokens_revoke_all(user)
        if was_active != is_active or was_banned_until != banned_until:
            audit_log_record(
                actor=actor,
                action="user_unban" if is_active else "user_ban",
                target_user=user,
                before={"is_active": was_active, "banned_until": _iso(was_banned_until)},
                after={"is_active": is_active, "banned_until": _iso(banned_until)},
                reason=reason,
            )
    user.is_active = is_active
    user.banned_until = banned_until


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def user_ban_lift_if_ended(user: User) -> bool:
    """Lift ``user``'s ban if its end has passed (audited, no actor). True if it was lifted."""
    if user.is_active or user.banned_until is None or user.banned_until > timezone.now():
        return False
    with transaction.atomic():
        ended = (
            User.objects.select_for_update()
            .filter(pk=user.pk, is_active=False, banned_until__lte=timezone.now())
            .exists()
        )
        if ended:
            user_set_active(user, is_active=True, actor=None, reason="ban ended")
        else:
            user.refresh_from_db(fields=["is_active", "banned_until"])
    return ended


def user_bans_lift_ended() -> int:
    """Lift every ban whose end has passed (beat, every minute). Returns how many were lifted."""
    lifted = 0
    for user in User.objects.filter(is_active=False, banned_until__lte=timezone.now()):
        lifted += user_ban_lift_if_ended(user)
    return lifted
