"""Staff manage events and missions in admin (audited); progress is read-only."""

import pytest

from accounts.models import AuditLogEntry
from events.models import Event, Mission, MissionProgress
from events.tests.factories import EventFactory, MissionFactory

pytestmark = pytest.mark.django_db


def event_form(**overrides):
    form = {
        "title": "Spring spins",
        "description": "",
        "requirement_type": "plays",
        "game": "slot",
        "target": "20",
        "reward_gold": "1000",
        "reward_xp": "50",
        "is_active": "on",
        "is_public": "on",
        "starts_at_0": "2026-04-01",
        "starts_at_1": "00:00:00",
        "ends_at_0": "2026-04-08",
        "ends_at_1": "00:00:00",
    }
    return {**form, **overrides}


def test_staff_create_an_event_and_the_save_is_audited(admin_client, admin_user):
    response = admin_client.post("/admin/events/event/add/", event_form())

    assert response.status_code == 302
    event = Event.objects.get(title="Spring spins")
    assert (event.game, event.target, event.reward_gold) == ("slot", 20, 1000)
    entry = AuditLogEntry.objects.get(action="event_create")
    assert entry.actor == admin_user
    assert entry.after["title"] == "Spring spins"


def test_the_admin_refuses_an_event_ending_before_it_starts_or_a_game_filter_on_purchases(
    admin_client,
):
    backwards = admin_client.post("/admin/events/event/add/", event_form(ends_at_0="2026-03-01"))
    filtered = admin_client.post(
        "/admin/events/event/add/", event_form(requirement_type="purchases")
    )

    assert backwards.status_code == filtered.status_code == 200  # the form again, with errors
    assert "An event must end after it starts." in backwards.content.decode()
    assert "A game filter applies only to round requirements." in filtered.content.decode()
    assert not Event.objects.exists()
    assert not AuditLogEntry.objects.exists()


def test_admin_lists_load_and_progress_cannot_be_edited_or_events_deleted(admin_client):
    event = EventFactory()
    mission = MissionFactory()

    pages = [
        "/admin/events/event/",
        "/admin/events/mission/",
        "/admin/events/eventparticipation/",
        "/admin/events/missionprogress/",
        f"/admin/events/event/{event.pk}/change/",
        f"/admin/events/mission/{mission.pk}/change/",
    ]
    assert [admin_client.get(page).status_code for page in pages] == [200] * 6
    assert admin_client.get("/admin/events/missionprogress/add/").status_code == 403
    assert admin_client.get(f"/admin/events/event/{event.pk}/delete/").status_code == 403
    assert Mission.objects.filter(pk=mission.pk).exists()
    assert not MissionProgress.objects.exists()
