"""Socket presence: a Redis sorted set shared by every process; sockets keep it current."""

import pytest
from django.test import override_settings
from prometheus_client import REGISTRY, generate_latest

from accounts.tests.factories import UserFactory
from casinoclub.realtime import presence
from casinoclub.realtime.presence import presence_leave, presence_online_count, presence_touch
from casinoclub.realtime.tests.helpers import (
    TIMEOUT,
    access_token,
    assert_closed_with,
    async_test,
    db,
    open_socket,
    open_synced_socket,
)
from casinoclub.tests.test_metrics import sample_value


def disconnects(code: str) -> float:
    return sample_value(generate_latest(REGISTRY).decode(), "ws_disconnects_total", {"code": code})


def test_touch_counts_each_user_once_and_leave_removes_them():
    presence_touch(1)
    presence_touch(2)
    presence_touch(1)

    assert presence_online_count() == 2
    presence_leave(1)
    presence_leave(1)  # idempotent
    assert presence_online_count() == 1


@override_settings(PRESENCE_TTL_SECONDS=60)
def test_users_not_seen_within_the_ttl_are_not_counted_and_are_pruned():
    presence_touch(1, now=1_000.0)
    presence_touch(2, now=1_050.0)

    assert presence_online_count(now=1_059.0) == 2
    assert presence_online_count(now=1_070.0) == 1
    assert presence._redis().zrange(presence.PRESENCE_KEY, 0, -1) == [b"2"]


def test_presence_failures_are_swallowed_and_count_as_zero(monkeypatch):
    from redis import Redis

    broken = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    monkeypatch.setattr(presence, "_redis", lambda: broken)

    presence_touch(1)
    presence_leave(1)

    assert presence_online_count() == 0


@pytest.mark.django_db(transaction=True)
@async_test
async def test_a_socket_marks_its_user_online_until_it_disconnects():
    user = await db(UserFactory)()
    token = await db(access_token)(user)
    before = disconnects("1000")

    communicator, _ = await open_synced_socket(token)
    online_while_open = presence_online_count()
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == "pong"
    await communicator.disconnect(code=1000)

    assert online_while_open == 1
    assert presence_online_count() == 0
    assert disconnects("1000") == before + 1


@pytest.mark.django_db(transaction=True)
@async_test
async def test_a_refused_socket_is_never_online_and_rare_close_codes_count_as_other():
    before_other = disconnects("other")

    communicator = await open_socket("garbage")
    await assert_closed_with(communicator, 4401)
    await communicator.disconnect(code=3999)

    assert presence_online_count() == 0
    assert disconnects("other") == before_other + 1
