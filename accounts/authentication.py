"""simplejwt authentication plus the token-version check (logout-all, bans, token reuse) and the
session check (logout), both against the user row simplejwt loads anyway: no extra query."""

from typing import Any, cast

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.tokens import Token

from .models import User
from .tokens import SESSION_CLAIM, TOKEN_VERSION_CLAIM


def token_is_revoked(token: Token, user: User) -> bool:
    """True when ``token`` was revoked: every token of ``user`` (token version) or its login
    session (logout). ``user`` must be fresh from the database."""
    if token.get(TOKEN_VERSION_CLAIM) != user.token_version:
        return True
    session_id = token.get(SESSION_CLAIM)
    return session_id is not None and session_id in (user.revoked_sessions or {})


class PlayerJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token: Token) -> Any:
        user = cast(User, super().get_user(validated_token))  # refuses inactive (banned) users
        if token_is_revoked(validated_token, user):
            raise AuthenticationFailed("Token has been revoked.", code="token_revoked")
        return user


def request_player(request: Any) -> User:
    """The logged-in user of a request on a route that requires authentication."""
    user = request.user
    if not isinstance(user, User):
        raise AuthenticationFailed("Not logged in.", code="not_authenticated")
    return user
