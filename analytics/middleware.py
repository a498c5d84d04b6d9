"""Counts a player active on the day of any authenticated request (after the response is built).

The user is read only when the request already knows it: a DRF view stores the authenticated
user on the request, a page reads the session user; a request nobody authenticated (a static
file, a public page that never touched ``request.user``) is not made to load a session here.
Staff signed in to the admin are not recorded (they are not players); a staff member using the
player API with a token is recorded, and the rollups leave staff out.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from analytics.services.activity import activity_record, activity_shop_view_record

# The catalog is the shop's front page: its first view of the day is the funnel's first step.
SHOP_VIEW_ROUTES = frozenset({"shop-catalog"})


def _known_user_id(request: HttpRequest) -> int | None:
    user = request.__dict__.get("user")
    if user is None:
        return None
    while isinstance(user, SimpleLazyObject):  # the session's user, maybe wrapped again (OTP)
        if user._wrapped is empty:  # type: ignore[attr-defined]  # never evaluated: nobody authenticated
            return None
        user = user._wrapped  # type: ignore[attr-defined]  # the evaluated user
    if not getattr(user, "is_authenticated", False) or user.pk is None:
        return None
    # Staff are not players: a staff account signed in to the admin (its row is loaded) is not
    # counted. A token-authenticated user carries only its key and rank (no row read here).
    if user.__dict__.get("is_staff", False):
        return None
    return int(user.pk)


class ActivityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user_id = _known_user_id(request)
        if user_id is not None and response.status_code < 500:
            match = request.resolver_match
            if (
                match is not None
                and match.url_name in SHOP_VIEW_ROUTES
                and response.status_code == 200
            ):
                activity_shop_view_record(user_id)  # writes the day's row when it is the first
            activity_record(user_id)
        return response
