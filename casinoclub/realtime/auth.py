"""Socket authentication: the access JWT of the query string, checked like every HTTP request."""

from __future__ import annotations

from typing import Any

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
