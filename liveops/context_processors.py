"""The inbox bell of every page: the signed-in player's unread count."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from liveops.selectors import notification_unread_count


def inbox(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path.startswith("/admin/"):
        return {}
    return {"notifications_unread": notification_unread_count(user.pk)}
