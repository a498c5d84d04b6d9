"""DRF permissions of staff routes beside ``IsAdminUser``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from . import exceptions


def user_is_second_factor_verified(user: Any) -> bool:
    """Whether ``user`` (a request's user, as ``OTPMiddleware`` sets it) signed in with a second
    factor in this session. A user loaded from a bearer token never is."""
    is_verified = getattr(user, "is_verified", None)
    return bool(callable(is_verified) and is_verified())


class StaffSecondFactorVerified(BasePermission):
    """With ``STAFF_REQUIRE_2FA``, a staff route needs the session of an admin sign-in that passed
    the second factor; a bearer token is refused (403 ``second_factor_required``), because the API
    login checks only a password (docs/decisions/0126-staff-api-second-factor.md). List it after
    ``IsAdminUser``, so callers who are not staff get that permission's answer first."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not settings.STAFF_REQUIRE_2FA:
            return True
        if isinstance(
            request.successful_authenticator, SessionAuthentication
        ) and user_is_second_factor_verified(request.user):
            return True
        raise exceptions.SecondFactorRequired()
