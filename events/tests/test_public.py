"""GET /api/public/events: no login, no player data, cached, ETag, limited per IP."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.throttling import ScopedRateThrottle

from events import services
from events.models import Event
from events.tests.factories import EventFactory
from events.tests.helpers import client_of, post
from games.tests.factories import funded_player

pytestmark = pytest.mark.django_db


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_anonymous_callers_see_public_running_events_without_player_data(api_client):
    now = timezone.now()
    shown = EventFactory(title="Open to all", description="Spin!", game="slot", target=10)
    EventFactory(title="Members only", is_public=False)
    EventFactory(title="Later", starts_at=now + timedelta(hours=1))
    EventFactory(title="Over", starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    EventFactory(title="Off", is_active=False)
    player = funded_player(0)
    post(client_of(player), "/api/events/join", {"event_id": shown.pk})

    response = api_client.get("/api/public/events")

    assert response.status_code == 200
    assert response.json() == {
        "events": [
            {
                "id": shown.pk,
                "title": "Open to all",
                "description": "Spin!",
                "starts_at": iso(shown.starts_at),
                "ends_at": iso(shown.ends_at),
                "status": "active",
                "requirement": {"type": "plays", "game": "slot", "target": 10},
                "reward": {"gold": 500, "xp": 30},
            }
        ]
    }
    assert re.fullmatch(r'"[0-9a-f]{32}"', response["ETag"])
    assert response["Cache-Control"] == "public, max-age=10"


def test_a_matching_if_none_match_is_answered_304_without_a_body(api_client):
    EventFactory()
    first = api_client.get("/api/public/events")

    second = api_client.get("/api/public/events", HTTP_IF_NONE_MATCH=first["ETag"])
    stale = api_client.get("/api/public/events", HTTP_IF_NONE_MATCH='"not-the-etag"')

    assert second.status_code == 304
    assert second.content == b""
    assert second["ETag"] == first["ETag"]
    assert stale.status_code == 200
    assert stale.content == first.content


def test_the_payload_is_cached_and_a_staff_edit_refreshes_it(api_client):
    event = EventFactory(title="Before")
    first = api_client.get("/api/public/events")
    Event.objects.filter(pk=event.pk).update(title="After")

    cached = api_client.get("/api/public/events")
    services.public_events_forget()  # what an admin save does after commit
    fresh = api_client.get("/api/public/events")

    assert cached.content == first.content
    assert cached["ETag"] == first["ETag"]
    assert fresh.json()["events"][0]["title"] == "After"
    assert fresh["ETag"] != first["ETag"]
    assert api_client.get("/api/public/events", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def test_public_events_are_rate_limited_per_ip(api_client, monkeypatch):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "public_events", "2/min")

    statuses = [api_client.get("/api/public/events").status_code for _ in range(3)]
    other_ip = api_client.get("/api/public/events", REMOTE_ADDR="10.0.0.9")

    assert statuses == [200, 200, 429]
    assert other_ip.status_code == 200
