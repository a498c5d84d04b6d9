"""simplejwt authentication plus the token-version check (logout-all, bans, token reuse) and the
session check (logout), both against the player's cached authentication state: an authenticated
request reads no user row (docs/decisions/0150-auth-state-cache.md)."""

from typing import Any

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token

from .auth_state import auth_state_get, token_is_revoked
from .models import User


class PlayerJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token: Token) -> Any:
        """The token's user, refused when missing, inactive (banned) or revoked. The user is built
        from the cached state with only its key and rank loaded; the first read of another field
        loads the row (``User.from_auth_state``)."""
        try:
            user_id = int(validated_token[jwt_settings.USER_ID_CLAIM])
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidToken("Token contained no recognizable user identification") from error
        state = auth_state_get(user_id)
        if state is None:
            raise AuthenticationFailed("User not found", code="user_not_found")
        if not state.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        if token_is_revoked(validated_token, state):
            raise AuthenticationFailed("Token has been revoked.", code="token_revoked")
        return User.from_auth_state(user_id, rank=state.rank)


def request_player(request: Any) -> User:
    """The logged-in user of a request on a route that requires authentication."""
    user = request.user
    if not isinstance(user, User):
        raise AuthenticationFailed("Not logged in.", code="not_authenticated")
    return user
