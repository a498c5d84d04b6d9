"""``POST /api/telemetry/events``: limits, validation, sampling, storage and counting."""

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.throttling import ScopedRateThrottle

from accounts.tests.factories import UserFactory
from casinoclub.telemetry import services
from casinoclub.telemetry.exceptions import TelemetryQuotaExceeded
from casinoclub.telemetry.models import TelemetryEvent
from casinoclub.tests.test_metrics import sample_value, scrape

URL = "/api/telemetry/events"
TS = "2026-11-27T10:00:00+00:00"


def event(name: str = "page.view", ts: str = TS, **props: object) -> dict:
    return {"name": name, "ts": ts, "props": props}


def post(client, body, **extra):
    return client.post(URL, json.dumps(body), content_type="application/json", **extra)


@pytest.mark.django_db
def test_a_batch_is_accepted_stored_by_the_task_and_counted(
    player, player_client, api_client, django_capture_on_commit_callbacks
):
    before = sample_value(scrape(api_client), "telemetry_events_total", {"name": "page.view"})

    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            player_client,
            {"events": [event(page="home"), event("game.open", game="slot"), event("x.custom")]},
        )

    assert response.status_code == 202
    assert response.json() == {"received": 3, "stored": 3}
    rows = TelemetryEvent.objects.order_by("id").values_list(
        "user_id", "name", "ts", "props", "sample_rate"
    )
    when = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert list(rows) == [
        (player.pk, "page.view", when, {"page": "home"}, 1.0),
        (player.pk, "game.open", when, {"game": "slot"}, 1.0),
        (player.pk, "x.custom", when, {}, 1.0),
    ]
    text = scrape(api_client)
    assert sample_value(text, "telemetry_events_total", {"name": "page.view"}) == before + 1
    # A name outside the allow-list never becomes a label of its own.
    assert sample_value(text, "telemetry_events_total", {"name": "x.custom"}) == 0
    assert sample_value(text, "telemetry_events_total", {"name": "other"}) >= 1


@pytest.mark.django_db
def test_anonymous_callers_get_401_and_nothing_is_stored(api_client):
    response = post(api_client, {"events": [event()]})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert TelemetryEvent.objects.count() == 0


@pytest.mark.django_db
def test_a_body_over_32_kb_is_413_payload_too_large(
    player_client, django_capture_on_commit_callbacks
):
    padding = "x" * 1000
    body = {"events": [event(pad=padding) for _ in range(40)]}  # valid shape, about 41 KB
    assert len(json.dumps(body)) > 32 * 1024

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(player_client, body)

    assert response.status_code == 413
    assert response.json() == {
        "error": {
            "code": "payload_too_large",
            "message": "A telemetry batch may be at most 32 KB.",
            "details": None,
        }
    }
    assert callbacks == []
    assert TelemetryEvent.objects.count() == 0


@pytest.mark.django_db
def test_a_body_over_the_global_upload_limit_is_413_too(player_client):
    response = post(player_client, {"events": [event(pad="y" * 70_000)]})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"events": []}, {"events": ["This list may not be empty."]}),
        (
            {"events": [event()] * 51},
            {"events": ["Ensure this field has no more than 50 elements."]},
        ),
        ({}, {"events": ["This field is required."]}),
        ({"events": [event()], "extra": 1}, {"extra": ["Unknown field."]}),
        (
            {"events": [event("Page View")]},
            {"events": {"0": {"name": ["This value does not match the required pattern."]}}},
        ),
        (
            {"events": [event("a" * 65)]},
            {
                "events": {
                    "0": {
                        "name": [
                            "Ensure this field has no more than 64 characters.",
                            "This value does not match the required pattern.",
                        ]
                    }
                }
            },
        ),
        (
            {"events": [event(ts="yesterday")]},
            {
                "events": {
                    "0": {
                        "ts": [
                            "Datetime has wrong format. Use one of these formats instead: "
                            "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
                        ]
                    }
                }
            },
        ),
        (
            {"events": [{"name": "page.view", "ts": TS, "props": [1, 2]}]},
            {"events": {"0": {"props": ["Must be an object."]}}},
        ),
        (
            {"events": [event(big="z" * 3000)]},
            {"events": {"0": {"props": ["At most 2048 bytes of JSON."]}}},
        ),
        (
            {"events": [{"name": "page.view", "ts": TS, "user_id": 7}]},
            {"events": {"0": {"user_id": ["Unknown field."]}}},
        ),
    ],
)
def test_a_batch_that_breaks_the_schema_is_400_and_nothing_is_stored(
    player_client, django_capture_on_commit_callbacks, body, details
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(player_client, body)

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "validation_error",
            "message": "The request is not valid.",
            "details": details,
        }
    }
    assert callbacks == []
    assert TelemetryEvent.objects.count() == 0


@pytest.mark.django_db
def test_malformed_json_is_400(player_client):
    response = player_client.post(URL, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


@pytest.mark.django_db
def test_telemetry_is_rate_limited_per_user(player_client, client_for, monkeypatch):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "telemetry", "2/min")
    other_client = client_for(UserFactory())

    statuses = [post(player_client, {"events": [event()]}).status_code for _ in range(3)]
    other = post(other_client, {"events": [event()]})

    assert statuses == [202, 202, 429]
    assert other.status_code == 202


RECEIVED = datetime(2026, 11, 27, 10, 0, 0, 123456, tzinfo=UTC)


def inputs(*events: dict) -> list[services.TelemetryEventInput]:
    return [
        {"name": e["name"], "ts": datetime.fromisoformat(e["ts"]), "props": e["props"]}
        for e in events
    ]


@pytest.mark.django_db
def test_noisy_names_are_sampled_by_receive_time_and_position(
    player, settings, django_capture_on_commit_callbacks
):
    settings.TELEMETRY_SAMPLE_RATES = {"ui.scroll": 0.25}
    batch = inputs(*(event("ui.scroll", ts=f"2026-11-27T10:00:{s:02d}+00:00") for s in range(40)))

    with django_capture_on_commit_callbacks(execute=True):
        kept = services.telemetry_events_accept(
            user_id=player.pk, events=batch, body_bytes=100, received_at=RECEIVED
        )

    expected = [
        position
        for position in range(40)
        if services.telemetry_is_sampled_in(
            user_id=player.pk,
            name="ui.scroll",
            received_at=RECEIVED,
            position=position,
            rate=0.25,
        )
    ]
    assert 0 < len(expected) < 40
    assert kept == len(expected)
    stored = list(TelemetryEvent.objects.order_by("id").values_list("ts", "sample_rate"))
    assert stored == [(batch[p]["ts"], 0.25) for p in expected]
    assert set(TelemetryEvent.objects.values_list("received_at", flat=True)) == {RECEIVED}


def _kept_by_the_client_timestamp(user_id: int, name: str, ts: datetime, rate: float) -> bool:
    """The former rule: SHA-256 of (user, name, client ts), which the client could search."""
    instant = ts.astimezone(UTC).isoformat()
    digest = hashlib.sha256(f"{user_id}:{name}:{instant}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / float(2**64) < rate


@pytest.mark.django_db
def test_a_client_cannot_pick_a_timestamp_that_keeps_a_sampled_event(
    player, player_client, settings, django_capture_on_commit_callbacks
):
    # given a timestamp searched offline so that hashing (user, name, ts) would keep the event
    settings.TELEMETRY_SAMPLE_RATES = {"ui.scroll": 0.01}
    lucky = next(
        ts
        for ts in (
            datetime(2026, 11, 27, 10, 0, tzinfo=UTC) + timedelta(seconds=s) for s in range(100_000)
        )
        if _kept_by_the_client_timestamp(player.pk, "ui.scroll", ts, 0.01)
    )

    # when the client sends 50 events all carrying that timestamp
    with django_capture_on_commit_callbacks(execute=True):
        response = post(player_client, {"events": [event("ui.scroll", ts=lucky.isoformat())] * 50})

    # then only the server's sampling applies: at 1 %, 50 events keep far fewer than 50
    assert response.status_code == 202
    stored = response.json()["stored"]
    assert stored == TelemetryEvent.objects.count()
    assert stored <= 5  # P(more than 5 of 50 at 1 %) < 1e-6


def test_the_sampling_decision_ignores_the_client_and_follows_rate_and_receive_time():
    decide = services.telemetry_is_sampled_in

    assert decide(user_id=1, name="ui.scroll", received_at=RECEIVED, position=0, rate=1.0)
    assert not decide(user_id=1, name="ui.scroll", received_at=RECEIVED, position=0, rate=0.0)
    decisions = [
        decide(user_id=1, name="ui.scroll", received_at=RECEIVED, position=p, rate=0.5)
        for p in range(1000)
    ]
    assert decisions == [
        decide(user_id=1, name="ui.scroll", received_at=RECEIVED, position=p, rate=0.5)
        for p in range(1000)
    ]
    assert 400 < sum(decisions) < 600
    later = RECEIVED + timedelta(microseconds=1)
    assert decisions != [
        decide(user_id=1, name="ui.scroll", received_at=later, position=p, rate=0.5)
        for p in range(1000)
    ]


# ---------------------------------------------------------------- daily byte quota


@pytest.mark.django_db
def test_a_player_past_the_daily_byte_quota_gets_429_and_nothing_is_queued(
    player_client, client_for, settings, django_capture_on_commit_callbacks
):
    # given a quota that fits two batches of this size
    body = {"events": [event(page="home")]}
    size = len(json.dumps(body))
    settings.TELEMETRY_DAILY_BYTES_PER_USER = 2 * size + size // 2

    with django_capture_on_commit_callbacks(execute=True):
        statuses = [post(player_client, body).status_code for _ in range(2)]
    # when the player sends a third
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        refused = post(player_client, body)

    # then it is refused with the stable code, nothing is queued, and another player is unaffected
    assert statuses == [202, 202]
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "telemetry_quota_exceeded"
    assert error["details"]["daily_quota_bytes"] == 2 * size + size // 2
    assert 0 < error["details"]["retry_after_seconds"] <= 86_400
    assert callbacks == []
    assert TelemetryEvent.objects.count() == 2
    other = post(client_for(UserFactory()), body)
    assert other.status_code == 202


@pytest.mark.django_db
def test_the_quota_is_counted_per_server_day_whatever_the_client_ts(player, settings):
    settings.TELEMETRY_DAILY_BYTES_PER_USER = 1000
    batch = inputs(event(ts="2020-01-01T00:00:00+00:00"))
    services.telemetry_events_accept(
        user_id=player.pk, events=batch, body_bytes=1000, received_at=RECEIVED
    )

    with pytest.raises(TelemetryQuotaExceeded):
        services.telemetry_events_accept(
            user_id=player.pk,
            events=inputs(event(ts="2031-01-01T00:00:00+00:00")),
            body_bytes=1,
            received_at=RECEIVED + timedelta(hours=13),  # 23:00 UTC, the same server day
        )
    next_day = RECEIVED + timedelta(hours=14)  # 00:00 UTC the next day
    kept = services.telemetry_events_accept(
        user_id=player.pk, events=batch, body_bytes=1000, received_at=next_day
    )

    assert kept == 1


@pytest.mark.django_db
def test_a_fully_sampled_out_batch_queues_no_task(
    player_client, settings, django_capture_on_commit_callbacks
):
    settings.TELEMETRY_SAMPLE_RATES = {"ui.hover": 0.0}

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(player_client, {"events": [event("ui.hover")]})

    assert response.json() == {"received": 1, "stored": 0}
    assert callbacks == []
    assert TelemetryEvent.objects.count() == 0
