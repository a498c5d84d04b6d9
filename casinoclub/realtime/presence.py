"""Who is online, across every daphne process: one Redis sorted set of user ids, scored by the
time (Unix seconds) their socket was last seen.

Sockets touch their user on connect and on every ping, and remove it on disconnect; a user whose
last touch is older than ``PRESENCE_TTL_SECONDS`` (a socket of a process that died, a client that
stopped pinging) is no longer counted and is pruned on the next count. A player with two tabs open
who closes one drops out until the other one pings again: the count errs low, for at most a ping
interval. Redis failures are logged and ignored: presence never breaks a socket.
"""

from __future__ import annotations

import functools
import logging
import time

from django.conf import settings
from redis import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

PRESENCE_KEY = "casinoclub:presence:online"


@functools.cache
def _redis() -> Redis:
    return Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=2)


def presence_touch(user_id: int, *, now: float | None = None) -> None:
    """Mark ``user_id`` online now. Idempotent."""
    try:
        _redis().zadd(PRESENCE_KEY, {str(user_id): time.time() if now is None else now})
    except RedisError as error:
        logger.warning("presence: touch of user %s failed: %r", user_id, error)


def presence_leave(user_id: int) -> None:
    """Mark ``user_id`` offline. Idempotent."""
    try:
        _redis().zrem(PRESENCE_KEY, str(user_id))
    except RedisError as error:
        logger.warning("presence: leave of user %s failed: %r", user_id, error)


def presence_online_count(*, now: float | None = None) -> int:
    """How many users were seen within ``PRESENCE_TTL_SECONDS``; prunes the ones that were not.

    Returns 0 when Redis cannot be reached (logged).
    """
    cutoff = (time.time() if now is None else now) - settings.PRESENCE_TTL_SECONDS
    try:
        pipe = _redis().pipeline()
        pipe.zremrangebyscore(PRESENCE_KEY, "-inf", f"({cutoff}")
        pipe.zcard(PRESENCE_KEY)
        _, count = pipe.execute()
    except RedisError as error:
        logger.warning("presence: count failed: %r", error)
        return 0
    return int(count)


def presence_online_user_ids(*, now: float | None = None) -> list[int]:
    """The ids of the users seen within ``PRESENCE_TTL_SECONDS`` (ascending); [] when Redis
    cannot be reached (logged)."""
    cutoff = (time.time() if now is None else now) - settings.PRESENCE_TTL_SECONDS
    try:
        members = _redis().zrangebyscore(PRESENCE_KEY, cutoff, "+inf")
    except RedisError as error:
        logger.warning("presence: listing failed: %r", error)
        return []
    return sorted(int(member) for member in members)  # type: ignore[arg-type]  # bytes ids
