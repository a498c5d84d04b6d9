"""Announcements: scheduled by staff, shown on every page from a cache, pushed once over the
socket to the players online when they start."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AuditLogEntry
from accounts.tests.factories import UserFactory, staff_member
from casinoclub.models import Announcement
from casinoclub.realtime.messages import iso_utc
from casinoclub.realtime.models import RealtimeMessage
from casinoclub.realtime.presence import presence_leave, presence_touch
from casinoclub.realtime.tests.helpers import (
    TIMEOUT,
    access_token,
    async_test,
    db,
    open_synced_socket,
)
from casinoclub.tasks import announcements_push_started_task

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/casinoclub/announcement/add/"


def banner(**kwargs):  # type: ignore[no-untyped-def]
    now = timezone.now()
    values = {
        "text_en": "Double gold weekend!",
        "text_ko": "주말 골드 두 배!",
        "severity": "info",
        "starts_at": now - timedelta(minutes=1),
        "ends_at": now + timedelta(hours=1),
        **kwargs,
    }
    return Announcement.objects.create(**values)


def test_staff_schedule_an_announcement_and_every_page_shows_it_in_the_players_language(
    client, django_capture_on_commit_callbacks
):
    now = timezone.localtime()
    client.force_login(staff_member("administrator"))
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            ADD_URL,
            {
                "text_en": "Servers restart at 3 am",
                "text_ko": "오전 3시 서버 재시작",
                "severity": "warning",
                "starts_at_0": (now - timedelta(minutes=5)).strftime("%Y-%m-%d"),
                "starts_at_1": (now - timedelta(minutes=5)).strftime("%H:%M:%S"),
                "ends_at_0": (now + timedelta(days=1)).strftime("%Y-%m-%d"),
                "ends_at_1": (now + timedelta(days=1)).strftime("%H:%M:%S"),
            },
        )
    player = UserFactory()
    client.force_login(player)

    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    korean = client.get("/events/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    landing = Client().get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert created.status_code == 302
    assert AuditLogEntry.objects.filter(action="announcement_create").count() == 1
    assert 'class="notice notice-warning"' in english
    assert "Servers restart at 3 am" in english
    assert "오전 3시 서버 재시작" in korean
    assert "Servers restart at 3 am" in landing


def test_an_announcement_outside_its_window_is_not_shown(client):
    now = timezone.now()
    banner(text_en="Not yet", starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))
    banner(text_en="Over", starts_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1))
    client.force_login(UserFactory())

    page = client.get("/").content.decode()

    assert "Not yet" not in page
    assert "Over" not in page
    assert 'data-testid="announcement"' not in page


def test_pages_read_announcements_from_the_cache_and_a_staff_change_refreshes_it(
    client, django_capture_on_commit_callbacks
):
    row = banner(text_en="Cached banner")
    client.force_login(staff_member("administrator"))
    visitor = Client()
    first = visitor.get("/login/").content.decode()
    # changed behind the admin's back: the cached list still answers, no query per page
    Announcement.objects.filter(pk=row.pk).update(text_en="Changed quietly")
    second = visitor.get("/login/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/casinoclub/announcement/{row.pk}/delete/", {"post": "yes"})
    third = visitor.get("/login/").content.decode()

    assert "Cached banner" in first
    assert "Cached banner" in second
    assert "Changed quietly" not in second
    assert "Cached banner" not in third
    assert "Changed quietly" not in third
    assert AuditLogEntry.objects.filter(action="announcement_delete").count() == 1


def test_a_started_announcement_is_pushed_once_to_the_players_online():
    online, offline = UserFactory(), UserFactory()
    presence_touch(online.pk)
    presence_leave(offline.pk)
    row = banner(severity="critical")
    banner(text_en="Later", starts_at=timezone.now() + timedelta(hours=1))

    pushed = announcements_push_started_task.delay().get()
    again = announcements_push_started_task.delay().get()

    assert (pushed, again) == (1, 0)
    messages = list(RealtimeMessage.objects.filter(type="announcement").values("user_id", "data"))
    assert messages == [
        {
            "user_id": online.pk,
            "data": {
                "id": row.pk,
                "severity": "critical",
                "text": "Double gold weekend!",
                "text_en": "Double gold weekend!",
                "text_ko": "주말 골드 두 배!",
                "ends_at": iso_utc(row.ends_at),
            },
        }
    ]
    row.refresh_from_db()
    assert row.pushed_at is not None
    presence_leave(online.pk)


@pytest.mark.django_db(transaction=True)
@async_test
async def test_a_connected_player_receives_the_announcement_live_when_it_starts():
    player = await db(UserFactory)()
    socket, _ = await open_synced_socket(await db(access_token)(player))  # marks them online
    row = await db(banner)(text_en="Live now", text_ko="지금 시작")

    pushed = await db(announcements_push_started_task)()
    message = await socket.receive_json_from(timeout=TIMEOUT)

    assert pushed == 1
    assert message["type"] == "announcement"
    assert message["data"]["id"] == row.pk
    assert (message["data"]["text_en"], message["data"]["text_ko"]) == ("Live now", "지금 시작")
    await socket.disconnect()
