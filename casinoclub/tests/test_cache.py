"""The default cache keeps answering from process memory while Redis is unreachable."""

from django.conf import settings

from casinoclub.cache import ResilientRedisCache, cache_fallback_total


def _fallbacks(operation: str) -> float:
    return cache_fallback_total.labels(operation=operation)._value.get()


def test_an_unreachable_redis_is_replaced_by_process_memory_and_counted():
    unreachable = ResilientRedisCache("redis://127.0.0.1:1/0", {"KEY_PREFIX": "t"})
    sets, gets = _fallbacks("set"), _fallbacks("get")

    unreachable.set("throttle", [1, 2], 60)
    assert unreachable.get("throttle") == [1, 2]
    assert unreachable.add("throttle", "other") is False
    assert unreachable.get_or_set("page", lambda: "built") == "built"
    assert (_fallbacks("set") - sets, _fallbacks("get") - gets) == (1, 3)  # get_or_set: 2


def test_a_reachable_redis_is_used_and_shared():
    first = ResilientRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "t"})
    second = ResilientRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "t"})
    gets = _fallbacks("get")

    first.set("shared", 7, 60)

    assert second.get("shared") == 7
    assert _fallbacks("get") == gets
    second.delete("shared")
