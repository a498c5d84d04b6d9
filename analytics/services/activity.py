"""Recording that a player was active today, cheaply.

Invariants:
- A player has at most one ``PlayerActivity`` row per day of the product's time zone.
- The request path writes at most once per player per day: a Redis flag (``cache.add``, which is
  ``SET NX`` with a TTL to the end of the day) lets only the first request of the day through to
  the upsert; every later request of the day costs one Redis round trip and no statement.
- A socket connection is a session: each connect adds one to the day's ``sessions`` in the same
  single upsert (and sets the day's flag, so the requests that follow do not write).
- The first catalog view of the day sets ``shop_viewed`` (the purchase funnel's first step), again
  behind its own day flag.
- Failures never break the request or the socket: they are logged and the visit is not counted.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.utils import timezone

logger = logging.getLogger(__name__)

_TABLE = "analytics_playeractivity"


def _seconds_to_end_of_day(now: datetime) -> int:
    local = timezone.localtime(now)
    end = datetime.combine(local.date() + timedelta(days=1), time.min, tzinfo=local.tzinfo)
    return max(1, int((end - local).total_seconds()) + 1)


def activity_flag_key(user_id: int, day: date, what: str = "seen") -> str:
    return f"analytics:{what}:{day.isoformat()}:{user_id}"


def _upsert(user_id: int, day: date, now: datetime, *, sessions: int, shop_viewed: bool) -> None:
    """One ``INSERT … ON CONFLICT`` for (day, user): adds ``sessions`` and ORs ``shop_viewed``."""
    if sessions == 0 and not shop_viewed:
        conflict = "DO NOTHING"
    else:
        conflict = (
            f"DO UPDATE SET sessions = {_TABLE}.sessions + EXCLUDED.sessions, "
            f"shop_viewed = {_TABLE}.shop_viewed OR EXCLUDED.shop_viewed"
        )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} (user_id, day, sessions, shop_viewed, first_seen_at) "  # noqa: S608  # constant table name
            f"VALUES (%s, %s, %s, %s, %s) ON CONFLICT (day, user_id) {conflict}",
            [user_id, day, sessions, shop_viewed, now],
        )


def activity_record(user_id: int, *, now: datetime | None = None) -> bool:
    """Note that ``user_id`` made an authenticated request now. Returns True when this call wrote
    (the first of the player's day). Idempotent per day; safe outside a transaction."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    if not cache.add(activity_flag_key(user_id, day), 1, _seconds_to_end_of_day(now)):
        return False
    try:
        _upsert(user_id, day, now, sessions=0, shop_viewed=False)
    except DatabaseError as error:
        cache.delete(activity_flag_key(user_id, day))
        logger.warning("analytics: activity of user %s not recorded: %r", user_id, error)
        return False
    return True


def activity_session_start(user_id: int, *, now: datetime | None = None) -> None:
    """A socket of ``user_id`` connected: one more session today (one upsert per connect)."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    try:
        _upsert(user_id, day, now, sessions=1, shop_viewed=False)
    except DatabaseError as error:
        logger.warning("analytics: session of user %s not recorded: %r", user_id, error)
        return
    cache.set(activity_flag_key(user_id, day), 1, _seconds_to_end_of_day(now))


def activity_shop_view_record(user_id: int, *, now: datetime | None = None) -> bool:
    """``user_id`` opened the shop catalog: the first view of the day is written, the rest cost
    one Redis round trip. Returns True when this call wrote."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    ttl = _seconds_to_end_of_day(now)
    if not cache.add(activity_flag_key(user_id, day, "shop"), 1, ttl):
        return False
    try:
        _upsert(user_id, day, now, sessions=0, shop_viewed=True)
    except DatabaseError as error:
        cache.delete(activity_flag_key(user_id, day, "shop"))
        logger.warning("analytics: shop view of user %s not recorded: %r", user_id, error)
        return False
    # the row exists now: the day's activity flag may be set too, so requests do not write again
    cache.set(activity_flag_key(user_id, day), 1, ttl)
    return True


def activity_purge(*, before: date) -> int:
    """Delete the activity rows of days before ``before``; returns how many. Idempotent. The
    rollups made from them stay; those days can no longer be rolled up again."""
    from analytics.models import PlayerActivity

    deleted, _ = PlayerActivity.objects.filter(day__lt=before).delete()
    return deleted
