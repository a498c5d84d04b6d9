"""JWTs carry ``tv`` (the user's token version): bumping it revokes every token issued before."""

from typing import Any

from rest_framework_simplejwt.tokens import RefreshToken

TOKEN_VERSION_CLAIM = "tv"  # noqa: S105  # a claim name, not a secret


class PlayerRefreshToken(RefreshToken):
    @classmethod
    def for_user(cls, user: Any) -> "PlayerRefreshToken":
        token = super().for_user(user)
        token[TOKEN_VERSION_CLAIM] = user.token_version
        return token  # type: ignore[return-value]  # super() returns an instance of cls


def token_pair_for_user(user: Any) -> dict[str, str]:
    refresh = PlayerRefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}
