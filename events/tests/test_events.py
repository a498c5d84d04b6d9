"""Events: join inside the window, progress only when joined, claim once."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import LedgerEntry, LedgerReason
from casinoclub.realtime.models import RealtimeMessage
from events.models import EventParticipation
from events.tests.factories import EventFactory
from events.tests.helpers import (
    balance,
    client_of,
    experience,
    ledger_count,
    post,
    progress_messages,
    spin,
)
from games.tests.factories import funded_player

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_default_missions")]


def join(client, event, key=None):
    return post(client, "/api/events/join", {"event_id": event.pk}, key=key)


def claim(client, event, key=None):
    return post(client, f"/api/events/claim/{event.pk}", key=key)


def test_a_joined_event_progresses_from_rounds_and_an_unjoined_one_does_not():
    player = funded_player(10_000)
    client = client_of(player)
    joined = EventFactory(title="Joined", target=5)
    other = EventFactory(title="Other", target=5)

    response = join(client, joined)
    spin(client)
    spin(client)

    assert response.status_code == 200
    participation = EventParticipation.objects.get(user=player)
    assert (participation.event_id, participation.progress, participation.progress_version) == (
        joined.pk,
        2,
        2,
    )
    listed = {e["id"]: e for e in client.get("/api/events/").json()["events"]}
    assert listed[joined.pk]["participation"]["progress"] == 2
    assert listed[joined.pk]["can_join"] is False
    assert listed[other.pk]["participation"] is None
    assert listed[other.pk]["can_join"] is True
    event_items = [
        (item["id"], item["progress"], item["progress_version"])
        for message in progress_messages(player)
        for item in message["items"]
    ]
    assert event_items == [(joined.pk, 0, 0), (joined.pk, 1, 1), (joined.pk, 2, 2)]


def test_rounds_before_joining_and_after_the_end_do_not_count():
    player = funded_player(10_000)
    client = client_of(player)
    start = timezone.now()
    event = EventFactory(starts_at=start - timedelta(hours=1), ends_at=start + timedelta(minutes=5))
    with time_machine.travel(start, tick=False) as clock:
        spin(client)  # not joined yet
        join(client, event)
        spin(client)
        clock.move_to(event.ends_at)  # the window is [starts_at, ends_at)
        spin(client)

    participation = EventParticipation.objects.get(user=player, event=event)
    assert (participation.progress, participation.progress_version) == (1, 1)


def test_joining_outside_the_window_is_403_and_changes_nothing():
    player = funded_player(0)
    client = client_of(player)
    now = timezone.now()
    upcoming = EventFactory(starts_at=now + timedelta(hours=1), ends_at=now + timedelta(days=1))
    ended = EventFactory(starts_at=now - timedelta(days=1), ends_at=now - timedelta(seconds=1))
    messages = RealtimeMessage.objects.filter(user=player).count()

    early = join(client, upcoming)
    late = join(client, ended)

    assert early.status_code == 403
    assert early.json()["error"]["code"] == "event_not_open"
    assert late.status_code == 403
    assert late.json()["error"]["code"] == "event_not_open"
    assert not EventParticipation.objects.filter(user=player).exists()
    assert RealtimeMessage.objects.filter(user=player).count() == messages


def test_joining_is_idempotent_and_unknown_or_inactive_events_are_404():
    player = funded_player(0)
    client = client_of(player)
    event = EventFactory()
    inactive = EventFactory(is_active=False)

    first = join(client, event, key="join-event-once")
    again = join(client, event)
    replayed = join(client, event, key="join-event-once")
    unknown = post(client, "/api/events/join", {"event_id": 999_999})
    hidden = join(client, inactive)
    malformed = post(client, "/api/events/join", {"event_id": "1"})

    assert first.status_code == again.status_code == replayed.status_code == 200
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.content == first.content
    assert (
        first.json()["event"]["participation"]["joined_at"]
        == (again.json()["event"]["participation"]["joined_at"])
    )
    assert EventParticipation.objects.filter(user=player).count() == 1
    assert len(progress_messages(player)) == 1  # one "joined"
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "not_found")
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "validation_error")


def test_a_completed_event_pays_gold_and_xp_once_and_claiming_early_changes_nothing():
    player = funded_player(10_000)
    client = client_of(player)
    event = EventFactory(target=2, reward_gold=500, reward_xp=30)
    join(client, event)
    spin(client)
    before = (balance(player), ledger_count(player), experience(player))

    early = claim(client, event)

    assert (early.status_code, early.json()["error"]["code"]) == (409, "not_completed")
    assert early.json()["error"]["details"] == {"progress": 1, "target": 2}
    assert (balance(player), ledger_count(player), experience(player)) == before
    spin(client)
    gold, entries, (level, xp) = balance(player), ledger_count(player), experience(player)

    paid = claim(client, event)
    twice = claim(client, event)

    assert paid.status_code == 200
    body = paid.json()
    assert body["reward"] == {"gold": 500, "xp": 30}
    assert body["balance"] == gold + 500 == balance(player)
    participation = body["event"]["participation"]
    assert (participation["progress"], participation["claimed"], participation["claimable"]) == (
        2,
        True,
        False,
    )
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "already_claimed")
    assert balance(player) == gold + 500
    assert ledger_count(player) == entries + 1
    assert experience(player) == (level, xp + 30)
    entry = LedgerEntry.objects.get(wallet_id=player.pk, reason=LedgerReason.EVENT_REWARD)
    assert (entry.delta, entry.idempotency_key) == (500, f"event:{event.pk}")


def test_an_ended_event_stays_listed_and_claimable_until_claimed():
    player = funded_player(10_000)
    start = timezone.now()
    event = EventFactory(target=1, starts_at=start - timedelta(hours=1), ends_at=start)
    ended_unjoined = EventFactory(starts_at=start - timedelta(hours=1), ends_at=start)
    with time_machine.travel(start - timedelta(minutes=1), tick=False):
        client = client_of(player)  # a token issued "now" would be from the future here
        join(client, event)
        spin(client)

    listed = [e["id"] for e in client.get("/api/events/").json()["events"]]
    paid = claim(client, event)
    after = [e["id"] for e in client.get("/api/events/").json()["events"]]

    assert listed == [event.pk]
    assert paid.status_code == 200
    assert after == []
    assert ended_unjoined.pk not in listed


def test_claiming_an_event_not_joined_is_409_not_joined():
    player = funded_player(0)
    client = client_of(player)
    event = EventFactory()

    response = claim(client, event)

    assert (response.status_code, response.json()["error"]["code"]) == (409, "not_joined")
    assert ledger_count(player) == 0


def test_event_detail_shows_the_event_and_hides_inactive_ones():
    player = funded_player(0)
    client = client_of(player)
    now = timezone.now()
    event = EventFactory(
        title="Weekend slots",
        description="Spin!",
        game="slot",
        target=10,
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(days=2),
    )
    inactive = EventFactory(is_active=False)

    with time_machine.travel(now, tick=False):
        response = client.get(f"/api/events/{event.pk}")
    hidden = client.get(f"/api/events/{inactive.pk}")

    assert response.status_code == 200
    assert response.json() == {
        "id": event.pk,
        "title": "Weekend slots",
        "description": "Spin!",
        "starts_at": event.starts_at.isoformat().replace("+00:00", "Z"),
        "ends_at": event.ends_at.isoformat().replace("+00:00", "Z"),
        "status": "upcoming",
        "requirement": {"type": "plays", "game": "slot", "target": 10},
        "reward": {"gold": 500, "xp": 30},
        "can_join": False,
        "participation": None,
    }
    assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "not_found")
