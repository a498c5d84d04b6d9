"""Async test plumbing: tests run their ``async def`` body with ``async_to_sync`` (no pytest-asyncio).

Database work inside a test body goes through ``db`` (``sync_to_async``): it then runs on the test's
own thread and connection, like the consumer's ``database_sync_to_async`` calls.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from urllib.parse import urlencode

from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction

from accounts.tokens import token_pair_for_user
from casinoclub.asgi import application
from casinoclub.realtime.services import realtime_publish

TIMEOUT = 5


def async_test(function):  # type: ignore[no-untyped-def]
    @functools.wraps(function)
    def run(*args, **kwargs):  # type: ignore[no-untyped-def]
        return async_to_sync(function)(*args, **kwargs)

    return run


def db(function):  # type: ignore[no-untyped-def]
    return sync_to_async(function, thread_sensitive=True)


def access_token(user) -> str:  # type: ignore[no-untyped-def]
    return token_pair_for_user(user)["access"]


def publish_committed(user_id: int, *datas: dict, message_type: str = "game_event") -> list[int]:
    """Publish one message per ``datas`` item in one committed transaction; return the seqs."""
    with transaction.atomic():
        return [realtime_publish(user_id, message_type, data) for data in datas]  # type: ignore[arg-type]


async def open_socket(token: str, **query: object) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, f"/api/realtime/sync?{urlencode({'token': token, **query})}"
    )
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    return communicator


async def open_synced_socket(token: str, **query: object) -> tuple[WebsocketCommunicator, list]:
    """An open socket past ``sync_connected`` and ``initial_state``; returns both frames too."""
    communicator = await open_socket(token, **query)
    first = await communicator.receive_json_from(timeout=TIMEOUT)
    second = await communicator.receive_json_from(timeout=TIMEOUT)
    assert (first["type"], second["type"]) == ("sync_connected", "initial_state")
    return communicator, [first, second]


def broadcasts_in(frame: dict) -> list[dict]:
    """The broadcasts a frame carries: a ``group_batch``'s in order, else the frame itself."""
    return list(frame["data"]["messages"]) if frame["type"] == "group_batch" else [frame]


async def receive_broadcasts(communicator: WebsocketCommunicator, count: int) -> list[dict]:
    """The next ``count`` public group broadcasts, ``group_batch`` frames unpacked in order."""
    messages: list[dict] = []
    while len(messages) < count:
        messages += broadcasts_in(await communicator.receive_json_from(timeout=TIMEOUT))
    assert len(messages) == count, messages
    return messages


async def assert_closed_with(communicator: WebsocketCommunicator, code: int) -> None:
    assert await communicator.receive_output(timeout=TIMEOUT) == {
        "type": "websocket.close",
        "code": code,
    }


def parse_timestamp(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    assert moment.utcoffset() == timedelta(0)
    return moment
