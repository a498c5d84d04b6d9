"""The bell on every signed-in page and the inbox page, server-rendered."""

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from liveops.models import Category, Notification

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_every_signed_in_page_shows_the_bell_with_the_unread_count():
    player = UserFactory()
    for index in range(3):
        Notification.objects.create(
            user=player, category=Category.EVENTS, title=f"n{index}", read_at=None
        )
    Notification.objects.create(user=UserFactory(), category=Category.EVENTS, title="other")

    for path in ("/", "/profile/", "/history/", "/notifications/"):
        page = signed_in(player).get(path).content.decode()
        assert 'data-testid="inbox-bell" data-unread="3"' in page, path
        assert 'aria-label="Notifications, 3 unread"' in page, path


def test_the_bell_speaks_korean_on_a_korean_page_and_has_no_badge_when_all_is_read():
    player = UserFactory()

    page = signed_in(player).get("/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()

    assert 'aria-label="알림"' in page
    assert 'data-testid="inbox-unread" aria-hidden="true" hidden' in page


def test_the_inbox_page_needs_a_login_and_the_profile_has_the_email_choices():
    anonymous = Client().get("/notifications/")
    profile = signed_in(UserFactory()).get("/profile/").content.decode()

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/login/")
    assert 'data-testid="notification-preferences"' in profile
    assert 'name="email_marketing"' in profile
