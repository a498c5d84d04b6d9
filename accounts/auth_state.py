"""A player's authentication state, kept in Redis so an authenticated request reads no user row
(docs/decisions/0150-auth-state-cache.md).

A record holds what authentication checks — the token version, active or banned (and until when),
the login sessions logged out while their access tokens can live — and the rank the hot routes
read. It is filled from the database on a miss and removed by ``auth_state_changed``, which every
service that changes one of those fields calls in its transaction: the record goes at once and
again after the commit.

Invariants:
- no stale record outlives a change: each removal also bumps the player's generation, and a record
  read from the database is stored only while the generation is still the one seen before that
  read (one Lua script), so a request that read the old row while a ban was committing cannot put
  the old state back after the removal;
- Redis is read directly with a short timeout, never through the cache's per-process memory
  (docs/decisions/0080): a record kept in one process's memory would hide a revocation made by
  another. On any Redis error the database answers (one query), and reads leave Redis alone for
  ``RETRY_SECONDS``; removals always try;
- a record lives at most ``AUTH_STATE_CACHE_SECONDS`` and never longer than an access token: if
  Redis was unreachable from the process that made a change but reachable from the others, the old
  state is served at most that long (the process retries the removal as soon as it reaches Redis
  again).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from prometheus_client import Counter
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from .models import User
from .tokens import SESSION_CLAIM, TOKEN_VERSION_CLAIM

logger = logging.getLogger(__name__)
RETRY_SECONDS = 5.0
GENERATION_SECONDS = 24 * 60 * 60  # far longer than any read of the row takes

auth_state_database_reads_total = Counter(
    "auth_state_database_reads_total",
    "Authentication states read from the database: on a cache miss, or while Redis is unreachable.",
    ["reason"],
)
auth_state_invalidation_failures_total = Counter(
    "auth_state_invalidation_failures_total",
    "Removals of a cached authentication state that failed because Redis was unreachable.",
)

# KEYS: record, generation. ARGV: the generation seen before the database read, record, seconds.
_STORE_IF_UNCHANGED = """
if (redis.call('GET', KEYS[2]) or '0') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""


@dataclass(frozen=True)
class AuthState:
    token_version: int
    is_active: bool
    banned_until: datetime | None
    revoked_sessions: frozenset[str]
    rank: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "tv": self.token_version,
                "active": self.is_active,
                "until": self.banned_until.isoformat() if self.banned_until else None,
                "revoked": sorted(self.revoked_sessions),
                "rank": self.rank,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> AuthState:
        data = json.loads(raw)
        until = data["until"]
        return cls(
            token_version=int(data["tv"]),
            is_active=bool(data["active"]),
            banned_until=datetime.fromisoformat(until) if until else None,
            revoked_sessions=frozenset(data["revoked"]),
            rank=str(data["rank"]),
        )


def _state_from_database(user_id: int) -> AuthState | None:
    row = (
        User.objects.filter(pk=user_id)
        .values_list("token_version", "is_active", "banned_until", "revoked_sessions", "rank")
        .first()
    )
    if row is None:
        return None
    token_version, is_active, banned_until, revoked_sessions, rank = row
    now = time.time()
    return AuthState(
        token_version=token_version,
        is_active=is_active,
        banned_until=banned_until,
        # An entry is kept while an access token of its session can live (user_session_revoke).
        revoked_sessions=frozenset(
            session_id for session_id, until in (revoked_sessions or {}).items() if until > now
        ),
        rank=rank,
    )


class AuthStateStore:
    """The records of one Redis server; see the module docstring. Thread-safe."""

    def __init__(self, url: str, *, timeout: float, record_seconds: int, key_prefix: str) -> None:
        self._client = redis.Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # the database answers instead of a second attempt
        )
        self._store_if_unchanged = self._client.register_script(_STORE_IF_UNCHANGED)
        self._record_seconds = record_seconds
        self._key_prefix = key_prefix
        self._lock = threading.Lock()
        self._unavailable_until = 0.0
        self._pending: set[int] = set()  # users whose record could not be removed yet

    def _keys(self, user_id: int) -> tuple[str, str]:
        return f"{self._key_prefix}:auth:{user_id}", f"{self._key_prefix}:auth-gen:{user_id}"

    def _unreachable(self, error: RedisError) -> None:
        with self._lock:
            was_available = self._unavailable_until == 0.0
            self._unavailable_until = time.monotonic() + RETRY_SECONDS
        if was_available:
            logger.warning("auth state: Redis unreachable, reading the database: %r", error)

    def _reachable(self) -> bool:
        if self._unavailable_until == 0.0:
            return True
        if time.monotonic() < self._unavailable_until:
            return False
        with self._lock:
            self._unavailable_until = 0.0
        return True

    def get(self, user_id: int) -> AuthState | None:
        """The state of ``user_id`` (None: no such user): from Redis, else from the database,
        stored for the next request unless it changed meanwhile."""
        record_key, generation_key = self._keys(user_id)
        generation: bytes | str | None = None
        if self._reachable():
            try:
                record, seen = self._client.mget(record_key, generation_key)
            except RedisError as error:
                self._unreachable(error)
            else:
                if self._pending:
                    self._retry_pending()
                if record is not None:
                    try:
                        return AuthState.from_json(record)
                    except (ValueError, KeyError, TypeError):
                        logger.warning("auth state: unreadable record for user %s", user_id)
                generation = seen if seen is not None else b"0"
        auth_state_database_reads_total.labels(
            reason="miss" if generation is not None else "redis_unavailable"
        ).inc()
        state = _state_from_database(user_id)
        if state is not None and generation is not None:
            seconds = min(
                self._record_seconds, int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds())
            )
            try:
                self._store_if_unchanged(
                    keys=[record_key, generation_key],
                    args=[generation, state.to_json(), max(seconds, 1)],
                )
            except RedisError as error:
                self._unreachable(error)
        return state

    def invalidate(self, user_id: int) -> bool:
        """Remove the record of ``user_id`` and bump its generation. False if Redis failed: the
        removal is then retried with this store's next successful Redis call."""
        with self._lock:
            user_ids = {user_id, *self._pending}
            self._pending.clear()
        if self._remove(user_ids):
            return True
        with self._lock:
            self._pending.update(user_ids)
        return False

    def _remove(self, user_ids: set[int]) -> bool:
        try:
            pipeline = self._client.pipeline(transaction=True)
            for user_id in sorted(user_ids):
                record_key, generation_key = self._keys(user_id)
                pipeline.delete(record_key)
                pipeline.incr(generation_key)
                pipeline.expire(generation_key, GENERATION_SECONDS)
            pipeline.execute()
        except RedisError as error:
            auth_state_invalidation_failures_total.inc()
            logger.error(
                "auth state: could not remove the records of users %s (served at most %s s): %r",
                sorted(user_ids),
                self._record_seconds,
                error,
            )
            return False
        return True

    def _retry_pending(self) -> None:
        with self._lock:
            user_ids = set(self._pending)
            self._pending.clear()
        if user_ids and not self._remove(user_ids):
            with self._lock:
                self._pending.update(user_ids)

    def close(self) -> None:
        self._client.close()


_store: AuthStateStore | None = None
_store_lock = threading.Lock()


def auth_state_store() -> AuthStateStore:
    """This process's store, on ``REDIS_URL``."""
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                _store = AuthStateStore(
                    settings.REDIS_URL,
                    timeout=settings.AUTH_STATE_REDIS_TIMEOUT,
                    record_seconds=settings.AUTH_STATE_CACHE_SECONDS,
                    key_prefix=settings.CACHES["default"].get("KEY_PREFIX", "casinoclub"),
                )
    return _store


def auth_state_get(user_id: int) -> AuthState | None:
    """The authentication state of ``user_id``; None when there is no such user."""
    return auth_state_store().get(user_id)


def auth_state_changed(user_id: int) -> None:
    """Forget the cached state of ``user_id``: call it wherever its token version, ``is_active``,
    ``banned_until``, ``revoked_sessions`` or rank change, in the transaction of the change.

    The record goes at once (the rest of this transaction, and this connection's next request,
    read the new row) and again once the change is committed, so a request that re-read the old
    row in between cannot leave it cached. Outside a transaction the change is already committed:
    once is enough.
    """
    store = auth_state_store()
    store.invalidate(user_id)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: auth_state_store().invalidate(user_id))


def token_is_revoked(token: Any, state: AuthState) -> bool:
    """True when ``token`` was revoked: every token of its user (token version) or its login
    session (logout)."""
    if token.get(TOKEN_VERSION_CLAIM) != state.token_version:
        return True
    session_id = token.get(SESSION_CLAIM)
    return session_id is not None and session_id in state.revoked_sessions
