"""``POST /api/telemetry/events``: limits, validation, sampling, storage and counting."""

import json
from datetime import UTC, datetime

import pytest
from rest_framework.throttling import ScopedRateThrottle

from accounts.tests.factories import UserFactory
from casinoclub.telemetry import services
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
            {"events": {"0": {"props": ['Expected a dictionary of items but got type "list".']}}},
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


@pytest.mark.django_db
def test_noisy_names_are_sampled_deterministically(
    player, player_client, settings, django_capture_on_commit_callbacks
):
    settings.TELEMETRY_SAMPLE_RATES = {"ui.scroll": 0.25}
    batch = {
        "events": [event("ui.scroll", ts=f"2026-11-27T10:00:{s:02d}+00:00") for s in range(40)]
    }

    with django_capture_on_commit_callbacks(execute=True):
        first = post(player_client, batch)
    with django_capture_on_commit_callbacks(execute=True):
        second = post(player_client, batch)

    expected = sum(
        services.telemetry_is_sampled_in(
            user_id=player.pk,
            name="ui.scroll",
            ts=datetime(2026, 11, 27, 10, 0, s, tzinfo=UTC),
            rate=0.25,
        )
        for s in range(40)
    )
    assert 0 < expected < 40
    assert first.json() == second.json() == {"received": 40, "stored": expected}
    stored = list(TelemetryEvent.objects.values_list("ts", "sample_rate"))
    assert len(stored) == 2 * expected
    assert {rate for _, rate in stored} == {0.25}
    # The same events are kept both times: the decision hangs on (user, name, ts) only.
    first_half = sorted(ts for ts, _ in stored)[::2]
    assert sorted(ts for ts, _ in stored)[1::2] == first_half


def test_the_sampling_decision_is_a_pure_function_of_user_name_and_ts():
    ts = datetime(2026, 1, 1, tzinfo=UTC)
    decide = services.telemetry_is_sampled_in

    assert decide(user_id=1, name="ui.scroll", ts=ts, rate=1.0) is True
    assert decide(user_id=1, name="ui.scroll", ts=ts, rate=0.0) is False
    decisions = [decide(user_id=u, name="ui.scroll", ts=ts, rate=0.5) for u in range(1000)]
    assert decisions == [decide(user_id=u, name="ui.scroll", ts=ts, rate=0.5) for u in range(1000)]
    assert 400 < sum(decisions) < 600


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
