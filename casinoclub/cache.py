"""The default cache: Redis, falling back to this process's memory while Redis is unreachable.

Everything kept in the cache is disposable (rate-limit counters, cached public pages, stored
gauges), so an unreachable Redis must not turn a login, a spin or a purchase into a 500
(docs/decisions/0080-cache-without-redis.md). When a Redis call fails with a connection error or a
timeout, the operation is answered by a per-process ``LocMemCache`` instead, and Redis is left
alone for ``RETRY_SECONDS`` so a dead server costs one failed call per process per interval, not
one per request. Rate limits then count per process: they stay on, but looser. Each outage is
logged once (warning) and counted in ``cache_fallback_total``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from prometheus_client import Counter
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
RETRY_SECONDS = 5.0
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)
Result = TypeVar("Result")

cache_fallback_total = Counter(
    "cache_fallback_total",
    "Cache operations answered by the per-process memory cache because Redis was unreachable.",
    ["operation"],
)


class ResilientRedisCache(RedisCache):
    """``RedisCache`` that degrades to a per-process memory cache; see the module docstring."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._fallback = LocMemCache(
            f"casinoclub-fallback-{id(self)}",
            {"TIMEOUT": params.get("TIMEOUT", 300), "KEY_PREFIX": params.get("KEY_PREFIX", "")},
        )
        self._lock = threading.Lock()
        self._unavailable_until = 0.0

    def _call(
        self,
        operation: str,
        redis_call: Callable[[], Result],
        fallback_call: Callable[[], Result],
    ) -> Result:
        if time.monotonic() >= self._unavailable_until:
            try:
                result = redis_call()
            except UNAVAILABLE as error:
                with self._lock:
                    was_available = self._unavailable_until == 0.0
                    self._unavailable_until = time.monotonic() + RETRY_SECONDS
                if was_available:
                    logger.warning("cache: Redis unreachable, using process memory: %r", error)
            else:
                if self._unavailable_until:
                    with self._lock:
                        self._unavailable_until = 0.0
                    logger.warning("cache: Redis reachable again")
                return result
        cache_fallback_total.labels(operation=operation).inc()
        return fallback_call()

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        return self._call(
            "add",
            lambda: super(ResilientRedisCache, self).add(key, value, timeout, version),
            lambda: self._fallback.add(key, value, timeout, version),
        )

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._call(
            "get",
            lambda: super(ResilientRedisCache, self).get(key, default, version),
            lambda: self._fallback.get(key, default, version),
        )

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        self._call(
            "set",
            lambda: super(ResilientRedisCache, self).set(key, value, timeout, version),
            lambda: self._fallback.set(key, value, timeout, version),
        )

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._call(
            "touch",
            lambda: super(ResilientRedisCache, self).touch(key, timeout, version),
            lambda: self._fallback.touch(key, timeout, version),
        )

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._call(
            "delete",
            lambda: super(ResilientRedisCache, self).delete(key, version),
            lambda: self._fallback.delete(key, version),
        )

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return self._call(
            "get_many",
            lambda: super(ResilientRedisCache, self).get_many(keys, version),
            lambda: self._fallback.get_many(keys, version),
        )

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._call(
            "has_key",
            lambda: super(ResilientRedisCache, self).has_key(key, version),
            lambda: self._fallback.has_key(key, version),
        )

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return self._call(
            "incr",
            lambda: super(ResilientRedisCache, self).incr(key, delta, version),
            lambda: self._fallback.incr(key, delta, version),
        )

    def set_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        return self._call(
            "set_many",
            lambda: super(ResilientRedisCache, self).set_many(data, timeout, version),
            lambda: self._fallback.set_many(data, timeout, version),
        )

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._call(
            "delete_many",
            lambda: super(ResilientRedisCache, self).delete_many(keys, version),
            lambda: self._fallback.delete_many(keys, version),
        )

    def clear(self) -> None:
        self._fallback.clear()
        self._call("clear", super().clear, lambda: None)
