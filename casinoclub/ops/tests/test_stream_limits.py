"""``GET /api/metrics/stream``: at most METRICS_STREAM_MAX_PER_CLIENT open streams per client."""

import asyncio

import pytest
from asgiref.testing import ApplicationCommunicator
from django.test import RequestFactory

from casinoclub.asgi import application
from casinoclub.ops import views
from casinoclub.realtime.tests.helpers import async_test

STREAM = "/api/metrics/stream"
TIMEOUT = 5
PROXY = "10.0.0.2"  # the reverse proxy every client comes through


def stream_scope(forwarded_for: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": STREAM,
        "raw_path": STREAM.encode(),
        "root_path": "",
        "query_string": b"interval=30",
        "headers": [(b"host", b"localhost"), (b"x-forwarded-for", forwarded_for.encode())],
        "client": (PROXY, 50000),
        "server": ("localhost", 80),
    }


async def open_stream(forwarded_for: str) -> tuple[ApplicationCommunicator, dict, bytes]:
    """A stream through the proxy; returns its start message and first body part."""
    communicator = ApplicationCommunicator(application, stream_scope(forwarded_for))
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(TIMEOUT)
    body = await communicator.receive_output(TIMEOUT)
    return communicator, start, body.get("body", b"")


async def close_stream(communicator: ApplicationCommunicator) -> None:
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(TIMEOUT)


@pytest.fixture
def behind_one_proxy(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    settings.METRICS_STREAM_MAX_PER_CLIENT = 2
    settings.METRICS_STREAM_OPENS_PER_MINUTE = 100


@pytest.mark.django_db(transaction=True)
@async_test
async def test_a_client_may_hold_only_so_many_streams_open(behind_one_proxy):
    first, first_start, _ = await open_stream("203.0.113.7")
    second, second_start, _ = await open_stream("203.0.113.7")

    third, third_start, third_body = await open_stream("203.0.113.7")
    await third.wait(TIMEOUT)

    assert [first_start["status"], second_start["status"]] == [200, 200]
    assert third_start["status"] == 429
    assert third_body == (
        b'{"error": {"code": "too_many_streams", "message": "Too many open streams from your '
        b'address; close one first.", "details": {"max_streams": 2}}}'
    )
    await close_stream(first)
    await close_stream(second)


@pytest.mark.django_db(transaction=True)
@async_test
async def test_clients_behind_the_same_proxy_each_have_their_own_streams(behind_one_proxy):
    # Both come from the proxy's address; X-Forwarded-For (last entry, written by the proxy)
    # tells them apart, and a forged first entry does not borrow someone else's budget.
    alice = [await open_stream("203.0.113.7") for _ in range(2)]
    bob, bob_start, _ = await open_stream("203.0.113.7, 198.51.100.9")

    assert [start["status"] for _, start, _ in alice] == [200, 200]
    assert bob_start["status"] == 200
    await close_stream(bob)
    for communicator, _, _ in alice:
        await close_stream(communicator)


@pytest.mark.django_db(transaction=True)
@async_test
async def test_closing_a_stream_gives_its_slot_back(behind_one_proxy):
    first, _, _ = await open_stream("203.0.113.7")
    second, _, _ = await open_stream("203.0.113.7")

    await close_stream(first)
    again, again_start, _ = await open_stream("203.0.113.7")

    assert again_start["status"] == 200
    await close_stream(second)
    await close_stream(again)


@pytest.mark.django_db
@async_test
async def test_the_slots_of_a_crashed_process_free_themselves(monkeypatch, settings):
    # A process killed mid-stream never runs its finally: its slots must expire on their own.
    settings.METRICS_STREAM_MAX_PER_CLIENT = 1
    settings.METRICS_STREAM_MAX_SECONDS = 0
    monkeypatch.setattr(views, "STREAM_SLOT_GRACE_SECONDS", 1)
    request = RequestFactory().get(STREAM, REMOTE_ADDR="203.0.113.7")

    held = await views._stream_slot_acquire(request)  # never released
    refused = await views._stream_slot_acquire(request)
    await asyncio.sleep(1.5)
    after_expiry = await views._stream_slot_acquire(request)

    assert held == "ops:metrics_stream_slot:203.0.113.7:0"
    assert refused is None
    assert after_expiry == held
