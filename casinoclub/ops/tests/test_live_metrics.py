"""Public live metrics: ``GET /api/metrics/global`` (JSON) and ``GET /api/metrics/stream`` (SSE)."""

import asyncio
import json
from datetime import datetime, timedelta

import pytest
from asgiref.testing import ApplicationCommunicator
from django.db import connections
from django.test import AsyncClient, RequestFactory
from django.utils import timezone
from rest_framework.throttling import ScopedRateThrottle

from accounts.tests.factories import UserFactory
from casinoclub.asgi import application
from casinoclub.ops import selectors, views
from casinoclub.realtime.presence import presence_touch
from casinoclub.realtime.tests.helpers import async_test, db
from casinoclub.tests.test_metrics import sample_value
from games.models import FairSeed, GameRound
from games.selectors import game_config_current

GLOBAL = "/api/metrics/global"
STREAM = "/api/metrics/stream"
TIMEOUT = 5


def play(user, nonce, *, game="slot", multiplier_x100=0, minutes_ago=0):
    seed, _ = FairSeed.objects.get_or_create(
        user=user, is_active=True, defaults={"server_seed": b"s", "server_seed_hash": "h"}
    )
    return GameRound.objects.create(
        user=user,
        game=game,
        config=game_config_current(game),
        fair_seed=seed,
        nonce=nonce,
        bet=100,
        payout=multiplier_x100,
        multiplier_x100=multiplier_x100,
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def seed_activity():
    alice, bob = UserFactory(), UserFactory()
    presence_touch(alice.pk)
    presence_touch(bob.pk)
    play(alice, 1)
    play(alice, 2, multiplier_x100=1000)  # a slot spin and a big win
    play(alice, 3, minutes_ago=61)  # too old
    play(bob, 1, game="crash", multiplier_x100=2500)  # a big win, not a spin
    play(bob, 2, game="rps", multiplier_x100=196)


# ---------------------------------------------------------------- GET /api/metrics/global


@pytest.mark.django_db
def test_global_metrics_need_no_login_and_count_the_last_hour(api_client):
    seed_activity()

    response = api_client.get(GLOBAL)

    assert response.status_code == 200
    body = response.json()
    assert {
        key: body[key] for key in ("online_users", "spins_last_hour", "big_wins_last_hour")
    } == {
        "online_users": 2,
        "spins_last_hour": 2,
        "big_wins_last_hour": 2,
    }
    assert abs(datetime.fromisoformat(body["generated_at"]) - timezone.now()) < timedelta(minutes=1)


@pytest.mark.django_db
def test_global_metrics_are_cached_for_five_seconds(api_client, settings):
    seed_activity()
    first = api_client.get(GLOBAL).json()

    play(UserFactory(), 1)
    second = api_client.get(GLOBAL).json()

    assert settings.PUBLIC_METRICS_CACHE_SECONDS == 5
    assert second == first
    assert selectors.global_metrics_compute()["spins_last_hour"] == 3


@pytest.mark.django_db
def test_the_big_win_threshold_is_configurable(api_client, settings):
    settings.BIG_WIN_MULTIPLIER_X100 = 2000
    seed_activity()

    assert api_client.get(GLOBAL).json()["big_wins_last_hour"] == 1


@pytest.mark.django_db
def test_global_metrics_are_rate_limited_per_ip(api_client, monkeypatch):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "public_metrics", "2/min")

    statuses = [api_client.get(GLOBAL).status_code for _ in range(3)]
    elsewhere = api_client.get(GLOBAL, REMOTE_ADDR="10.1.2.3")

    assert statuses == [200, 200, 429]
    assert elsewhere.status_code == 200


# ---------------------------------------------------------------- GET /api/metrics/stream


def stream_scope(query: str = "") -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": STREAM,
        "raw_path": STREAM.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }


async def open_stream(query: str) -> tuple[ApplicationCommunicator, dict]:
    communicator = ApplicationCommunicator(application, stream_scope(query))
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(TIMEOUT)
    return communicator, start


async def read_body(communicator: ApplicationCommunicator) -> bytes:
    body = b""
    while True:
        message = await communicator.receive_output(TIMEOUT)
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body


def parse_events(body: bytes) -> list[tuple[str, dict]]:
    events = []
    for block in body.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


class FakeClock:
    """Stands in for the stream's clock and sleep: sleeping moves time on, instantly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.mark.django_db(transaction=True)
@async_test
async def test_the_stream_sends_metrics_events_then_ends_after_the_maximum_duration(
    monkeypatch, settings
):
    await db(seed_activity)()
    fake = FakeClock()
    monkeypatch.setattr(views, "stream_clock", fake.clock)
    monkeypatch.setattr(views, "stream_sleep", fake.sleep)
    settings.METRICS_STREAM_MAX_SECONDS = 20

    communicator, start = await open_stream("interval=5")
    body = await read_body(communicator)
    await communicator.wait(TIMEOUT)

    assert start["status"] == 200
    headers = dict(start["headers"])
    assert headers[b"Content-Type"] == b"text/event-stream"
    assert headers[b"Cache-Control"] == b"no-cache"
    assert body.startswith(b"retry: 5000\n\nevent: metrics\ndata: {")
    events = parse_events(body)
    assert [name for name, _ in events] == ["metrics"] * 5 + ["end"]
    assert fake.sleeps == [5, 5, 5, 5]
    assert {key: events[0][1][key] for key in ("online_users", "spins_last_hour")} == {
        "online_users": 2,
        "spins_last_hour": 2,
    }
    assert set(events[0][1]) == {
        "online_users",
        "spins_last_hour",
        "big_wins_last_hour",
        "generated_at",
    }
    assert events[-1] == ("end", {"reason": "max_duration"})


@pytest.mark.django_db(transaction=True)
@async_test
async def test_the_stream_ends_cleanly_when_the_client_disconnects(monkeypatch):
    used_connections = []
    real_global_metrics = selectors.global_metrics

    def recording_global_metrics():
        value = real_global_metrics()
        used_connections.append(connections["default"])
        return value

    monkeypatch.setattr(selectors, "global_metrics", recording_global_metrics)
    before = scrape_value("metrics_streams_closed_total", {"reason": "disconnect"})
    active_before = scrape_value("metrics_streams_active")

    communicator, start = await open_stream("interval=30")  # the real sleep: 30 s
    retry = await communicator.receive_output(TIMEOUT)
    first = await communicator.receive_output(TIMEOUT)
    assert scrape_value("metrics_streams_active") == active_before + 1
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(TIMEOUT)  # the app returns: the stream was cancelled, not leaked

    assert start["status"] == 200
    assert retry["body"] == b"retry: 30000\n\n"
    assert parse_events(first["body"])[0][0] == "metrics"
    assert scrape_value("metrics_streams_closed_total", {"reason": "disconnect"}) == before + 1
    assert scrape_value("metrics_streams_active") == active_before
    # Between events the stream's thread holds no database connection.
    assert len(used_connections) == 1
    assert used_connections[0].connection is None


def scrape_value(name: str, labels: dict | None = None) -> float:
    from prometheus_client import REGISTRY, generate_latest

    return sample_value(generate_latest(REGISTRY).decode(), name, labels)


@pytest.mark.django_db
@async_test
@pytest.mark.parametrize("interval", ["1", "31", "abc", "", "5.5", "-3"])
async def test_an_interval_outside_2_to_30_seconds_is_400(interval):
    response = await AsyncClient().get(STREAM, {"interval": interval})

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "validation_error",
            "message": "The request is not valid.",
            "details": {"interval": ["A whole number of seconds from 2 to 30."]},
        }
    }


@pytest.mark.django_db
@async_test
async def test_opening_streams_is_rate_limited_per_ip(settings):
    settings.METRICS_STREAM_OPENS_PER_MINUTE = 1
    client = AsyncClient()

    first = await client.get(STREAM, {"interval": "2"})
    second = await client.get(STREAM, {"interval": "2"})

    assert first.status_code == 200
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "rate_limited"
    # The budget is per client address.
    other_ip = RequestFactory().get(STREAM, REMOTE_ADDR="10.9.9.9")
    assert await views._stream_open_allowed(other_ip) is True
    assert await views._stream_open_allowed(other_ip) is False


@pytest.mark.django_db
def test_the_stream_refuses_to_run_under_wsgi(client):
    response = client.get(STREAM)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "stream_unavailable"
