"""Socket authentication: the access JWT of the query string, checked like every HTTP request,
or the player pages' Django session cookie (docs/decisions/0060-session-auth-for-pages.md)."""

from __future__ import annotations

from datetime import datetime
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user
from django.http import HttpRequest
from django.utils import timezone
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.tokens import AccessToken

from accounts.authentication import PlayerJWTAuthentication


def socket_user_get(token: AccessToken) -> Any | None:
    """The token's user if it may still use the token (active, token version unchanged)."""
    try:
        return PlayerJWTAuthentication().get_user(token)
    except (AuthenticationFailed, InvalidToken):
        return None


def socket_authenticate(raw_token: str) -> tuple[Any, AccessToken] | None:
    """The user and the verified access token (signature, expiry, type), or None."""
    if not raw_token:
        return None
    try:
        token = AccessToken(raw_token)  # type: ignore[arg-type]  # simplejwt wants a Token type
    except TokenError:
        return None
    user = socket_user_get(token)
    return (user, token) if user is not None else None


def session_user_get(session_key: str | None) -> Any | None:
    """The active user logged into the stored session ``session_key``, or None.

    Reads the session afresh from its store on every call, so a logout (session deleted), a ban
    (inactive user) or a password change (session hash) refuses it from then on.
    """
    if not session_key:
        return None
    engine = import_module(settings.SESSION_ENGINE)
    request = HttpRequest()
    request.session = engine.SessionStore(session_key)
    user = get_user(request)  # Django's own checks: backend, session hash, is_active
    if not user.is_authenticated or not user.is_active:
        return None
    return user


_DATABASE_SESSION_ENGINES = (
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
)


def session_expires_at(session_key: str | None) -> datetime | None:
    """When the stored session ``session_key`` ends; None when it has ended or does not exist.

    The database-backed engines keep the end in the row (it moves when the session is saved
    again); other engines report the expiry the session itself records.
    """
    if not session_key:
        return None
    if settings.SESSION_ENGINE in _DATABASE_SESSION_ENGINES:
        from django.contrib.sessions.models import Session  # the app may be absent otherwise

        return (
            Session.objects.filter(session_key=session_key, expire_date__gt=timezone.now())
            .values_list("expire_date", flat=True)
            .first()
        )
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return store.get_expiry_date() if store.exists(session_key) else None


def session_origin_allowed(headers: dict[bytes, bytes]) -> bool:
    """A cookie-authenticated socket must come from a page of this site (or a trusted origin).

    Browsers send cookies with cross-site socket handshakes too, so without this check any web page
    could open a player's socket (cross-site WebSocket hijacking). Token sockets need no check: a
    foreign page cannot know the token.
    """
    origin = headers.get(b"origin", b"").decode("latin-1")
    host = headers.get(b"host", b"").decode("latin-1")
    if not origin or origin == "null":
        return False
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    return bool(host) and urlsplit(origin).netloc == host
