"""A public group's broadcasts: one reader per process writes them to every subscribed socket."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest
from django.conf import settings

from accounts.tests.factories import UserFactory
from casinoclub.realtime import fanout, services
from casinoclub.realtime.fanout import GroupFanout, group_fanout

from .helpers import (
    TIMEOUT,
    access_token,
    async_test,
    broadcasts_in,
    db,
    open_synced_socket,
    receive_broadcasts,
)

pytestmark = pytest.mark.django_db(transaction=True)

GROUP = "test_feed"


@pytest.fixture(autouse=True)
def test_group() -> Iterator[None]:
    services.public_group_register(GROUP, lambda: {"round": None})
    yield
    services._PUBLIC_GROUPS.pop(GROUP, None)


def broadcast(*numbers: int) -> None:
    """Publish one ``crash_bet`` per number, outside a transaction: each is sent at once."""
    for number in numbers:
        services.realtime_broadcast(GROUP, "crash_bet", {"n": number})


async def subscribed(token: str):  # type: ignore[no-untyped-def]
    socket, _ = await open_synced_socket(token)
    await socket.send_json_to({"type": "subscribe", "group": GROUP})
    assert (await socket.receive_json_from(timeout=TIMEOUT))["type"] == "group_state"
    return socket


async def until(condition, timeout: float = TIMEOUT) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def redis_subscribers(channel_group: str) -> int:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        name = f"{settings.CHANNEL_LAYERS['default']['CONFIG'].get('prefix', 'asgi')}__group__"
        rows = client.pubsub_numsub(f"{name}{channel_group}")
    finally:
        client.close()
    return int(rows[0][1])


@async_test
async def test_every_subscriber_gets_every_broadcast_in_order():
    tokens = [await db(access_token)(await db(UserFactory)()) for _ in range(3)]
    sockets = [await subscribed(token) for token in tokens]

    await db(broadcast)(*range(30))

    for socket in sockets:
        messages = await receive_broadcasts(socket, 30)
        assert [m["data"]["n"] for m in messages] == list(range(30))
        assert {(m["type"], m["group"]) for m in messages} == {("crash_bet", GROUP)}
        assert await socket.receive_nothing(timeout=0.2)
    for socket in sockets:
        await socket.disconnect()


@async_test
async def test_broadcasts_that_arrive_during_a_write_go_out_together_in_one_frame():
    # given a subscriber whose socket is slow: the first frame's write waits on the gate
    fanout = GroupFanout(GROUP, services.public_group_channel_name(GROUP))
    gate, frames = asyncio.Event(), []

    async def slow_send(text: str) -> None:
        frames.append(json.loads(text))
        await gate.wait()

    await fanout.join("slow", slow_send)
    await fanout.release("slow")
    await db(broadcast)(0)
    await until(lambda: len(frames) == 1)

    # when nineteen more are broadcast while that write is stuck
    await db(broadcast)(*range(1, 20))
    await until(lambda: len(fanout.inbox) == 19)
    gate.set()
    await until(lambda: len(frames) == 2)

    # then they come as one group_batch, in order, each a whole broadcast
    assert frames[0]["type"] == "crash_bet"
    assert (frames[1]["type"], frames[1]["group"]) == ("group_batch", GROUP)
    assert [m["data"]["n"] for m in broadcasts_in(frames[1])] == list(range(1, 20))
    assert all(set(m) == {"type", "group", "data", "timestamp"} for m in broadcasts_in(frames[1]))
    await fanout.leave("slow")


@async_test
async def test_a_broadcast_made_while_the_state_is_read_comes_after_the_state():
    # given a group whose state read sees a broadcast made (and delivered) meanwhile
    def state_with_a_broadcast_meanwhile() -> dict:
        broadcast(7)
        time.sleep(0.3)  # the broadcast reaches the process's fan-out before the state is sent
        return {"round": "state"}

    services.public_group_register(GROUP, state_with_a_broadcast_meanwhile)
    socket, _ = await open_synced_socket(await db(access_token)(await db(UserFactory)()))

    await socket.send_json_to({"type": "subscribe", "group": GROUP})

    first = await socket.receive_json_from(timeout=TIMEOUT)
    assert (first["type"], first["data"]) == ("group_state", {"round": "state"})
    assert [m["data"] for m in await receive_broadcasts(socket, 1)] == [{"n": 7}]
    await socket.disconnect()


@async_test
async def test_the_process_leaves_the_group_with_its_last_subscriber():
    tokens = [await db(access_token)(await db(UserFactory)()) for _ in range(2)]
    first, second = [await subscribed(token) for token in tokens]
    channel_group = services.public_group_channel_name(GROUP)
    assert await db(redis_subscribers)(channel_group) == 1  # one subscription for the process

    # an unsubscribed socket gets nothing more; the other still does
    await first.send_json_to({"type": "unsubscribe", "group": GROUP})
    await asyncio.sleep(0.1)
    await db(broadcast)(1)
    assert [m["data"]["n"] for m in await receive_broadcasts(second, 1)] == [1]
    assert await first.receive_nothing(timeout=0.2)

    # and when the last one goes, so does the process's subscription and its tasks
    current = group_fanout(GROUP, channel_group)
    tasks = list(current.tasks)
    await second.disconnect()
    await until(lambda: all(task.done() for task in tasks))
    assert await db(redis_subscribers)(channel_group) == 0
    assert current.subscribers == {}
    await first.disconnect()


@async_test
async def test_an_unknown_group_starts_nothing():
    socket, _ = await open_synced_socket(await db(access_token)(await db(UserFactory)()))

    await socket.send_json_to({"type": "subscribe", "group": "nope"})

    assert await socket.receive_nothing(timeout=0.2)
    assert "nope" not in fanout._fanouts.get(asyncio.get_running_loop(), {})
    await socket.disconnect()
