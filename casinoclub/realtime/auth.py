"""Socket authentication: the access JWT of the query string, checked like every HTTP request,
or the player pages' Django session cookie (docs/decisions/0060-session-auth-for-pages.md)."""

from __future__ import annotations

from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user
from django.http import HttpRequest
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
