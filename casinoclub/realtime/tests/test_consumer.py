"""``/api/realtime/sync`` against the real ASGI application and the real Redis channel layer."""

import asyncio
import threading
import time
from datetime import timedelta

import jwt
import pytest
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from prometheus_client import REGISTRY
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from accounts.services import user_set_active
from accounts.tests.factories import UserFactory
from accounts.tokens import TOKEN_VERSION_CLAIM, token_pair_for_user
from casinoclub.realtime import consumers, services
from casinoclub.realtime.models import RealtimeMessage
from casinoclub.realtime.services import realtime_publish
from casinoclub.realtime.tests.helpers import (
    TIMEOUT,
    access_token,
    assert_closed_with,
    async_test,
    db,
    open_socket,
    open_synced_socket,
    parse_timestamp,
    publish_committed,
)

pytestmark = pytest.mark.django_db(transaction=True)


def expired_token(user) -> str:
    token = AccessToken.for_user(user)
    token[TOKEN_VERSION_CLAIM] = user.token_version
    token.set_exp(from_time=timezone.now() - timedelta(hours=1))
    return str(token)


def foreign_token(user) -> str:
    claims = {"token_type": "access", "user_id": str(user.pk), "tv": 0, "jti": "x"}
    claims["exp"] = int((timezone.now() + timedelta(minutes=5)).timestamp())
    return jwt.encode(claims, "not-our-signing-key-0123456789-0123456789", algorithm="HS256")


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda user: "", id="missing"),
        pytest.param(lambda user: "garbage", id="garbage"),
        pytest.param(expired_token, id="expired"),
        pytest.param(foreign_token, id="wrong-signature"),
        pytest.param(lambda user: token_pair_for_user(user)["refresh"], id="refresh-not-access"),
    ],
)
@async_test
async def test_a_bad_token_is_closed_with_4401(make_token):
    user = await db(UserFactory)()
    token = await db(make_token)(user)

    communicator = await open_socket(token)

    await assert_closed_with(communicator, 4401)
    await communicator.disconnect()


@async_test
async def test_a_banned_users_token_is_closed_with_4401():
    user = await db(UserFactory)()
    token = await db(access_token)(user)
    await db(User.objects.filter(pk=user.pk).update)(is_active=False)

    communicator = await open_socket(token)

    await assert_closed_with(communicator, 4401)
    await communicator.disconnect()


@async_test
async def test_a_token_with_a_stale_version_is_closed_with_4401():
    user = await db(UserFactory)()
    token = await db(access_token)(user)
    await db(User.objects.filter(pk=user.pk).update)(token_version=F("token_version") + 1)

    communicator = await open_socket(token)

    await assert_closed_with(communicator, 4401)
    await communicator.disconnect()


@pytest.mark.parametrize("since", ["-1", "abc", "1.5", "²", "9" * 19])
@async_test
async def test_an_invalid_since_is_closed_with_4400(since):
    user = await db(UserFactory)()
    token = await db(access_token)(user)

    communicator = await open_socket(token, since=since)

    await assert_closed_with(communicator, 4400)
    await communicator.disconnect()


@async_test
async def test_connect_sends_sync_connected_then_initial_state():
    user = await db(UserFactory)(nickname="Alice")
    await db(publish_committed)(user.pk, {"before": "connect"})
    token = await db(access_token)(user)

    communicator, (connected, initial) = await open_synced_socket(token)

    assert connected == {
        "type": "sync_connected",
        "user_id": user.pk,
        "seq": 1,
        "data": {"last_seq": 1, "since": None},
        "timestamp": connected["timestamp"],
    }
    parse_timestamp(connected["timestamp"])
    assert initial["type"] == "initial_state"
    assert (initial["user_id"], initial["seq"]) == (user.pk, 1)
    assert initial["data"]["profile"]["id"] == user.pk
    assert initial["data"]["profile"]["nickname"] == "Alice"
    assert await communicator.receive_nothing(0.2)  # no replay without ?since=
    await communicator.disconnect()


@async_test
async def test_ping_is_answered_with_pong_and_other_frames_are_ignored():
    user = await db(UserFactory)()
    communicator, _ = await open_synced_socket(await db(access_token)(user))

    await communicator.send_to(text_data="not json")
    await communicator.send_json_to({"type": "subscribe", "topic": "anything"})
    await communicator.send_json_to(["ping"])
    assert await communicator.receive_nothing(0.2)
    await communicator.send_json_to({"type": "ping"})

    pong = await communicator.receive_json_from(timeout=TIMEOUT)
    assert pong == {
        "type": "pong",
        "user_id": user.pk,
        "seq": 0,
        "data": {},
        "timestamp": pong["timestamp"],
    }
    await communicator.disconnect()


@async_test
async def test_a_flood_of_frames_closes_the_socket_with_4429_after_its_allowance(monkeypatch):
    # given a socket whose allowance does not refill during the test
    monkeypatch.setattr(consumers, "FRAME_RATE_PER_SECOND", 0.0)
    user = await db(UserFactory)()
    communicator, _ = await open_synced_socket(await db(access_token)(user))

    # when it sends more pings than its allowance (each costs the server a read)
    for _ in range(consumers.FRAME_BURST + 5):
        await communicator.send_json_to({"type": "ping"})

    # then the allowance's pings are answered, and the next one closes the socket
    for _ in range(consumers.FRAME_BURST):
        assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == "pong"
    await assert_closed_with(communicator, consumers.CLOSE_TOO_MANY_FRAMES)
    assert await communicator.receive_nothing(0.2)
    await communicator.disconnect()


@async_test
async def test_frames_within_the_allowance_refill_over_time(monkeypatch):
    # given a socket that spent its whole allowance (refilling 20 per second here)
    monkeypatch.setattr(consumers, "FRAME_RATE_PER_SECOND", 20.0)
    user = await db(UserFactory)()
    communicator, _ = await open_synced_socket(await db(access_token)(user))
    for _ in range(consumers.FRAME_BURST):
        await communicator.send_json_to({"type": "ping"})
    for _ in range(consumers.FRAME_BURST):
        assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == "pong"

    # when it waits a while before the next ping
    await asyncio.sleep(0.5)
    await communicator.send_json_to({"type": "ping"})

    # then that one is answered and the socket stays open
    assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == "pong"
    await communicator.disconnect()


@async_test
async def test_a_message_is_delivered_live_only_after_its_transaction_commits():
    user = await db(UserFactory)()
    communicator, _ = await open_synced_socket(await db(access_token)(user))
    atomic = transaction.atomic()
    await db(atomic.__enter__)()

    seq = await db(realtime_publish)(user.pk, "profile_update", {"nickname": "New"})
    assert await communicator.receive_nothing(0.3)
    await db(atomic.__exit__)(None, None, None)

    message = await communicator.receive_json_from(timeout=TIMEOUT)
    assert seq == 1
    assert message == {
        "type": "profile_update",
        "user_id": user.pk,
        "seq": 1,
        "data": {"nickname": "New"},
        "timestamp": message["timestamp"],
    }
    assert await communicator.receive_nothing(0.2)
    await communicator.disconnect()


@async_test
async def test_a_rolled_back_message_is_neither_delivered_nor_stored():
    user = await db(UserFactory)()
    communicator, _ = await open_synced_socket(await db(access_token)(user))
    atomic = transaction.atomic()
    await db(atomic.__enter__)()

    await db(realtime_publish)(user.pk, "reward_granted", {"amount": 10})
    await db(atomic.__exit__)(RuntimeError, RuntimeError("the change failed"), None)

    assert await communicator.receive_nothing(0.5)
    assert await db(RealtimeMessage.objects.count)() == 0
    await communicator.disconnect()


@async_test
async def test_messages_reach_only_their_owners_sockets():
    alice, bob = await db(UserFactory)(), await db(UserFactory)()
    alice_socket, _ = await open_synced_socket(await db(access_token)(alice))
    bob_socket, _ = await open_synced_socket(await db(access_token)(bob))

    await db(publish_committed)(alice.pk, {"for": "alice"})

    message = await alice_socket.receive_json_from(timeout=TIMEOUT)
    assert (message["user_id"], message["seq"], message["data"]) == (alice.pk, 1, {"for": "alice"})
    assert await bob_socket.receive_nothing(0.3)
    await alice_socket.disconnect()
    await bob_socket.disconnect()


@async_test
async def test_reconnect_with_since_replays_missed_messages_in_order_then_live_ones():
    user = await db(UserFactory)()
    token = await db(access_token)(user)
    first, _ = await open_synced_socket(token)
    await db(publish_committed)(user.pk, {"n": 1}, {"n": 2})
    seen = [(await first.receive_json_from(timeout=TIMEOUT))["seq"] for _ in range(2)]
    await first.disconnect()
    await db(publish_committed)(user.pk, *({"n": n} for n in range(3, 6)))

    second, (connected, _) = await open_synced_socket(token, since=seen[-1])
    replayed = [await second.receive_json_from(timeout=TIMEOUT) for _ in range(3)]
    await db(publish_committed)(user.pk, {"n": 6})
    live = await second.receive_json_from(timeout=TIMEOUT)

    assert seen == [1, 2]
    assert connected["data"] == {"last_seq": 5, "since": 2}
    assert [(m["seq"], m["data"]) for m in replayed] == [(n, {"n": n}) for n in (3, 4, 5)]
    assert (live["seq"], live["data"]) == (6, {"n": 6})
    assert await second.receive_nothing(0.3)
    await second.disconnect()


@async_test
async def test_since_zero_replays_everything_and_a_since_ahead_of_the_store_replays_nothing():
    user = await db(UserFactory)()
    token = await db(access_token)(user)
    await db(publish_committed)(user.pk, {"n": 1}, {"n": 2})

    everything, _ = await open_synced_socket(token, since=0)
    replayed = [(await everything.receive_json_from(timeout=TIMEOUT))["seq"] for _ in range(2)]
    assert await everything.receive_nothing(0.2)
    await everything.disconnect()
    ahead, (connected, _) = await open_synced_socket(token, since=99)
    assert await ahead.receive_nothing(0.2)
    await db(publish_committed)(user.pk, {"n": 3})
    live = await ahead.receive_json_from(timeout=TIMEOUT)

    assert replayed == [1, 2]
    assert connected["data"] == {"last_seq": 2, "since": 2}
    assert live["seq"] == 3
    await ahead.disconnect()


@async_test
async def test_a_live_duplicate_is_dropped_and_a_live_gap_is_filled_from_the_store(monkeypatch):
    user = await db(UserFactory)()
    communicator, _ = await open_synced_socket(await db(access_token)(user))
    await db(publish_committed)(user.pk, {"n": 1})
    first = await communicator.receive_json_from(timeout=TIMEOUT)
    layer = get_channel_layer()

    # The live copy of seq 1 arrives again (e.g. replayed and live): dropped.
    await layer.group_send(f"user.{user.pk}", {"type": "realtime.message", "envelope": first})
    assert await communicator.receive_nothing(0.3)
    # Seq 2's live copy is lost (Redis hiccup), seq 3's arrives: 2 is read from the store first.
    with monkeypatch.context() as patch:
        patch.setattr(services, "_send_after_commit", lambda envelope: None)
        await db(publish_committed)(user.pk, {"n": 2})
    await db(publish_committed)(user.pk, {"n": 3})

    received = [await communicator.receive_json_from(timeout=TIMEOUT) for _ in range(2)]
    assert [(m["seq"], m["data"]) for m in received] == [(2, {"n": 2}), (3, {"n": 3})]
    assert await communicator.receive_nothing(0.3)
    await communicator.disconnect()


@async_test
async def test_a_ping_delivers_a_message_whose_live_copy_was_lost(monkeypatch):
    user = await db(UserFactory)()
    communicator, _ = await open_synced_socket(await db(access_token)(user))
    with monkeypatch.context() as patch:
        patch.setattr(services, "_send_after_commit", lambda envelope: None)
        await db(publish_committed)(user.pk, {"n": 1})
    assert await communicator.receive_nothing(0.3)

    await communicator.send_json_to({"type": "ping"})

    message = await communicator.receive_json_from(timeout=TIMEOUT)
    pong = await communicator.receive_json_from(timeout=TIMEOUT)
    assert (message["type"], message["seq"], message["data"]) == ("game_event", 1, {"n": 1})
    assert (pong["type"], pong["seq"]) == ("pong", 1)
    await communicator.disconnect()


@async_test
async def test_a_ban_closes_an_open_socket_at_its_next_ping():
    user = await db(UserFactory)()
    communicator, _ = await open_synced_socket(await db(access_token)(user))

    await db(user_set_active)(user, is_active=False, actor=None)
    await communicator.send_json_to({"type": "ping"})

    await assert_closed_with(communicator, 4401)
    await communicator.disconnect()


@async_test
async def test_ws_active_connections_counts_open_authenticated_sockets():
    user = await db(UserFactory)()
    before = REGISTRY.get_sample_value("ws_active_connections")
    refused = await open_socket("garbage")
    await assert_closed_with(refused, 4401)

    communicator, _ = await open_synced_socket(await db(access_token)(user))
    during = REGISTRY.get_sample_value("ws_active_connections")
    await communicator.disconnect()
    await refused.disconnect()

    assert during == before + 1
    assert REGISTRY.get_sample_value("ws_active_connections") == before


@async_test
async def test_connecting_while_another_thread_publishes_gets_every_seq_once_in_order():
    user = await db(UserFactory)()
    token = await db(access_token)(user)
    total = 60

    def publish_many() -> None:
        try:
            for n in range(1, total + 1):
                publish_committed(user.pk, {"n": n})
                time.sleep(0.01)
        finally:
            connection.close()

    publisher = threading.Thread(target=publish_many)
    publisher.start()
    while not await db(RealtimeMessage.objects.filter(user=user).exists)():
        await asyncio.sleep(0.005)
    communicator, (connected, _) = await open_synced_socket(token, since=0)
    seqs = [(await communicator.receive_json_from(timeout=TIMEOUT))["seq"] for _ in range(total)]
    await asyncio.to_thread(publisher.join)

    assert 0 < connected["data"]["last_seq"] < total  # connected while publishing went on
    assert seqs == list(range(1, total + 1))
    assert await communicator.receive_nothing(0.3)
    await communicator.disconnect()


@async_test
async def test_messages_committed_around_the_replay_read_are_sent_once_in_order(monkeypatch):
    user = await db(UserFactory)()
    token = await db(access_token)(user)
    await db(publish_committed)(user.pk, {"n": 1})
    read_messages = consumers.realtime_messages_since

    def read_between_two_commits(user_id, seq, limit):
        monkeypatch.setattr(consumers, "realtime_messages_since", read_messages)
        publish_committed(user.pk, {"n": 2})  # in the replay and live: the live copy is dropped
        page = read_messages(user_id, seq, limit)
        publish_committed(user.pk, {"n": 3})  # after the read: only live, the group is joined
        return page

    monkeypatch.setattr(consumers, "realtime_messages_since", read_between_two_commits)
    communicator, (connected, _) = await open_synced_socket(token, since=0)
    received = [await communicator.receive_json_from(timeout=TIMEOUT) for _ in range(3)]

    assert connected["data"] == {"last_seq": 1, "since": 0}
    assert [(m["seq"], m["data"]) for m in received] == [(n, {"n": n}) for n in (1, 2, 3)]
    assert await communicator.receive_nothing(0.3)
    await communicator.disconnect()


@async_test
async def test_a_deeply_nested_frame_is_ignored_and_the_socket_keeps_working():
    user = await db(UserFactory)()
    communicator, _ = await open_synced_socket(await db(access_token)(user))

    await communicator.send_to(text_data="[" * 100_000 + "]" * 100_000)
    assert await communicator.receive_nothing(0.2)
    await communicator.send_json_to({"type": "ping"})

    pong = await communicator.receive_json_from(timeout=TIMEOUT)
    assert pong["type"] == "pong"
    await communicator.disconnect()


@async_test
async def test_a_commits_messages_arrive_in_one_send_and_a_gap_before_them_is_filled(monkeypatch):
    user = await db(UserFactory)()
    communicator, _ = await open_synced_socket(await db(access_token)(user))
    # seq 1's live copy is lost; seqs 2 and 3 are stored by one commit and sent together
    with monkeypatch.context() as patch:
        patch.setattr(services, "_send_after_commit", lambda envelopes: None)
        await db(publish_committed)(user.pk, {"n": 1}, {"n": 2}, {"n": 3})
    stored = await db(consumers.realtime_messages_since)(user.pk, 1, 10)
    await get_channel_layer().group_send(
        f"user.{user.pk}", {"type": "realtime.messages", "envelopes": stored}
    )

    received = [await communicator.receive_json_from(timeout=TIMEOUT) for _ in range(3)]
    assert [(m["seq"], m["data"]) for m in received] == [
        (1, {"n": 1}),
        (2, {"n": 2}),
        (3, {"n": 3}),
    ]
    assert await communicator.receive_nothing(0.3)
    await communicator.disconnect()
