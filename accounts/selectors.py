"""Reads of accounts data."""

from __future__ import annotations

from django.db.models.functions import Lower

from .models import User


def user_get_by_login(identifier: str) -> User | None:
    """The user whose site_id or nickname (case-insensitive) is ``identifier``."""
    value = identifier.strip().lower()
    user = User.objects.filter(site_id=value).first()
    if user is None:
        user = (
            User.objects.alias(nickname_lower=Lower("nickname"))
            .filter(nickname_lower=value)
            .first()
        )
    return user


def user_get_public(user_id: int) -> User | None:
    """An active player as anyone may see them."""
    return User.objects.filter(pk=user_id, is_active=True).first()


def experience_for_next_level(level: int) -> int:
    """XP needed to go from ``level`` to ``level + 1``: 100 × level^1.5, rounded."""
    return round(100 * level**1.5)
