"""OpenAPI (drf-spectacular) extensions for accounts; registered by ``AccountsConfig.ready``."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class PlayerJWTScheme(SimpleJWTScheme):
    """``PlayerJWTAuthentication`` is simplejwt's bearer JWT plus a revocation check.

    drf-spectacular matches authentication extensions by exact class, so the subclass needs its
    own; without it every authenticated view warns and loses its ``security`` requirement.
    """

    target_class = "accounts.authentication.PlayerJWTAuthentication"
    name = "jwtAuth"
