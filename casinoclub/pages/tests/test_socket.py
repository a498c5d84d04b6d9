"""The socket accepts the pages' session cookie (from a page of this site) as well as a token."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from casinoclub.asgi import application
from casinoclub.realtime.tests.helpers import (
    TIMEOUT,
    assert_closed_with,
    async_test,
    db,
    publish_committed,
)
from games.tests.factories import funded_player

pytestmark = pytest.mark.django_db(transaction=True)

HOST = "testserver"


def _session_cookie_of(user) -> str:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _socket(
    session_key: str | None, *, origin: str | None = f"http://{HOST}", path: str = ""
) -> WebsocketCommunicator:
    headers = [(b"host", HOST.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if session_key is not None:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    return WebsocketCommunicator(application, f"/api/realtime/sync{path}", headers=headers)


@async_test
async def test_a_session_cookie_connects_and_receives_the_players_messages():
    user = await db(funded_player)(gold=700)
    session_key = await db(_session_cookie_of)(user)
    communicator = _socket(session_key)

    connected, _ = await communicator.connect(timeout=TIMEOUT)

    assert connected
    first = await communicator.receive_json_from(timeout=TIMEOUT)
    second = await communicator.receive_json_from(timeout=TIMEOUT)
    assert (first["type"], second["type"]) == ("sync_connected", "initial_state")
    assert second["user_id"] == user.pk
    assert second["data"]["profile"]["gold"] == 700
    [seq] = await db(publish_committed)(user.pk, {"event": "hello"})
    live = await communicator.receive_json_from(timeout=TIMEOUT)
    assert (live["type"], live["seq"], live["data"]) == ("game_event", seq, {"event": "hello"})
    await communicator.disconnect()


@async_test
async def test_a_session_socket_replays_with_since_like_a_token_socket():
    user = await db(funded_player)(gold=0)
    session_key = await db(_session_cookie_of)(user)
    seqs = await db(publish_committed)(user.pk, {"n": 1}, {"n": 2})
    communicator = _socket(session_key, path=f"?since={seqs[0]}")

    connected, _ = await communicator.connect(timeout=TIMEOUT)

    assert connected
    frames = [await communicator.receive_json_from(timeout=TIMEOUT) for _ in range(3)]
    assert [frame["type"] for frame in frames] == ["sync_connected", "initial_state", "game_event"]
    assert (frames[2]["seq"], frames[2]["data"]) == (seqs[1], {"n": 2})
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("session", "origin"),
    [
        pytest.param(None, f"http://{HOST}", id="anonymous"),
        pytest.param("not-a-session-key-0123456789abcdef", f"http://{HOST}", id="unknown-session"),
        pytest.param("valid", "https://evil.example", id="foreign-origin"),
        pytest.param("valid", None, id="no-origin"),
    ],
)
@async_test
async def test_a_socket_without_a_valid_session_from_this_site_is_closed_with_4401(session, origin):
    user = await db(funded_player)(gold=0)
    session_key = await db(_session_cookie_of)(user) if session == "valid" else session
    communicator = _socket(session_key, origin=origin)

    connected, _ = await communicator.connect(timeout=TIMEOUT)

    assert connected  # accepted first, so the close code reaches the client
    await assert_closed_with(communicator, 4401)


@async_test
async def test_logging_out_closes_the_session_socket_at_its_next_ping():
    user = await db(funded_player)(gold=0)
    client = Client()
    await db(client.force_login)(user)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    communicator = _socket(session_key)
    await communicator.connect(timeout=TIMEOUT)
    await communicator.receive_json_from(timeout=TIMEOUT)
    await communicator.receive_json_from(timeout=TIMEOUT)

    await db(client.logout)()
    await communicator.send_json_to({"type": "ping"})

    await assert_closed_with(communicator, 4401)


@async_test
async def test_a_ban_closes_the_session_socket_at_its_next_ping():
    from accounts.services import user_set_active

    user = await db(funded_player)(gold=0)
    session_key = await db(_session_cookie_of)(user)
    communicator = _socket(session_key)
    await communicator.connect(timeout=TIMEOUT)
    await communicator.receive_json_from(timeout=TIMEOUT)
    await communicator.receive_json_from(timeout=TIMEOUT)

    await db(user_set_active)(user, is_active=False, actor=None)
    await communicator.send_json_to({"type": "ping"})

    await assert_closed_with(communicator, 4401)
