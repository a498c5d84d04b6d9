"""Reads behind the public live metrics. Cached in Redis: every web process shares one value."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from casinoclub.realtime.presence import presence_online_count
from games.models import Game, GameRound

GLOBAL_METRICS_CACHE_KEY = "ops:global_metrics"


def _rounds_since(moment: Any) -> Any:
    # Reads games' rounds table directly; see docs/decisions/0043-live-metrics-and-presence.md.
    return GameRound.objects.filter(created_at__gte=moment)


def global_metrics_compute() -> dict[str, Any]:
    """Online players (socket presence), slot spins and big wins (any game) in the last hour."""
    now = timezone.now()
    hour_ago = now - timedelta(hours=1)
    return {
        "online_users": presence_online_count(),
        "spins_last_hour": _rounds_since(hour_ago).filter(game=Game.SLOT).count(),
        "big_wins_last_hour": _rounds_since(hour_ago)
        .filter(multiplier_x100__gte=settings.BIG_WIN_MULTIPLIER_X100)
        .count(),
        "generated_at": now.isoformat(),
    }


def global_metrics() -> dict[str, Any]:
    """``global_metrics_compute``, cached ``PUBLIC_METRICS_CACHE_SECONDS`` (5 s) in Redis."""
    cached: dict[str, Any] | None = cache.get(GLOBAL_METRICS_CACHE_KEY)
    if cached is None:
        cached = global_metrics_compute()
        cache.set(GLOBAL_METRICS_CACHE_KEY, cached, settings.PUBLIC_METRICS_CACHE_SECONDS)
    return cached
