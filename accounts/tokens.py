"""JWTs carry ``tv`` (the user's token version): bumping it revokes every token issued before.

They also carry ``sid``, the id of the login session they belong to: set when the player logs in
and kept by every refresh of that session, so logging out one session can refuse every access
token of that session at once (``User.revoked_sessions``), without touching the others.
"""

import secrets
from typing import Any

from rest_framework_simplejwt.tokens import RefreshToken

TOKEN_VERSION_CLAIM = "tv"  # noqa: S105  # a claim name, not a secret
SESSION_CLAIM = "sid"


def new_session_id() -> str:
    return secrets.token_hex(16)


class PlayerRefreshToken(RefreshToken):
    @classmethod
    def for_user(cls, user: Any) -> "PlayerRefreshToken":
        token = super().for_user(user)
        token[TOKEN_VERSION_CLAIM] = user.token_version
        return token  # type: ignore[return-value]  # super() returns an instance of cls


def token_pair_for_user(user: Any, *, session_id: str | None = None) -> dict[str, str]:
    """A new refresh + access pair; ``session_id``: the login session it continues (a refresh or
    a password change), None for a new login."""
    refresh = PlayerRefreshToken.for_user(user)
    refresh[SESSION_CLAIM] = session_id or new_session_id()
    return {"access": str(refresh.access_token), "refresh": str(refresh)}
