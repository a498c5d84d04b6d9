"""simplejwt authentication plus the token-version check (logout-all, bans, token reuse)."""

from typing import Any, cast

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.tokens import Token

from .models import User
from .tokens import TOKEN_VERSION_CLAIM


class PlayerJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token: Token) -> Any:
        user = cast(User, super().get_user(validated_token))  # refuses inactive (banned) users
        if validated_token.get(TOKEN_VERSION_CLAIM) != user.token_version:
            raise AuthenticationFailed("Token has been revoked.", code="token_revoked")
        return user


def request_player(request: Any) -> User:
    """The logged-in user of a request on a route that requires authentication."""
    user = request.user
    if not isinstance(user, User):
        raise AuthenticationFailed("Not logged in.", code="not_authenticated")
    return user
