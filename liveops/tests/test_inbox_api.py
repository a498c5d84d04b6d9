"""The inbox API: pagination with the unread count, read one or all, claim once, preferences."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import InventoryItem, LedgerEntry, User
from accounts.selectors import wallet_balance
from accounts.tests.factories import UserFactory
from games.tests.factories import funded_player
from liveops import selectors
from liveops.models import Category, Notification, NotificationPreference

pytestmark = pytest.mark.django_db


def note(user, title="hello", **kwargs) -> Notification:  # type: ignore[no-untyped-def]
    return Notification.objects.create(
        user=user, category=kwargs.pop("category", Category.EVENTS), title=title, **kwargs
    )


def test_the_list_is_paginated_newest_first_with_the_unread_count(player, player_client):
    for index in range(25):
        note(player, f"n{index}", read_at=timezone.now() if index < 5 else None)
    note(UserFactory(), "someone else's")

    first = player_client.get("/api/notifications")
    second = player_client.get("/api/notifications?page=2&page_size=20")

    assert first.status_code == 200
    body = first.json()
    assert body["count"] == 25
    assert body["unread_count"] == 20
    assert [item["title"] for item in body["results"]] == [f"n{i}" for i in range(24, 4, -1)]
    assert [item["title"] for item in second.json()["results"]] == [
        f"n{i}" for i in range(4, -1, -1)
    ]
    assert body["results"][0] == {
        "id": body["results"][0]["id"],
        "category": "events",
        "title": "n24",
        "body": "",
        "reward_gold": None,
        "reward_item_code": "",
        "reward_item_quantity": 0,
        "read_at": None,
        "claimed_at": None,
        "created_at": body["results"][0]["created_at"],
    }


@pytest.mark.parametrize("query", ["page=0", "page_size=101", "page=abc"])
def test_a_bad_page_query_is_400(player_client, query):
    response = player_client.get(f"/api/notifications?{query}")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_read_one_then_all(player, player_client):
    first, second, third = note(player), note(player), note(player)

    one = player_client.post(f"/api/notifications/{first.pk}/read")
    again = player_client.post(f"/api/notifications/{first.pk}/read")
    everything = player_client.post("/api/notifications/read-all")

    assert one.status_code == 200
    assert one.json()["unread_count"] == 2
    assert one.json()["notification"]["read_at"] is not None
    assert again.json()["notification"]["read_at"] == one.json()["notification"]["read_at"]
    assert everything.json() == {"marked": 2, "unread_count": 0}
    assert (
        Notification.objects.filter(pk__in=[second.pk, third.pk], read_at__isnull=True).count() == 0
    )


def test_reading_someone_elses_notification_is_404_and_changes_nothing(player_client):
    other = note(UserFactory())

    response = player_client.post(f"/api/notifications/{other.pk}/read")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert Notification.objects.get(pk=other.pk).read_at is None


def test_claim_pays_the_gold_and_the_item_once_and_the_same_key_replays(client_for):
    player = funded_player(100)
    client = client_for(player)
    rewarded = note(player, reward_gold=250, reward_item_code="frame_gold", reward_item_quantity=2)

    first = client.post(
        f"/api/notifications/{rewarded.pk}/claim",
        {},
        format="json",
        HTTP_IDEMPOTENCY_KEY="claim-0001",
    )
    replay = client.post(
        f"/api/notifications/{rewarded.pk}/claim",
        {},
        format="json",
        HTTP_IDEMPOTENCY_KEY="claim-0001",
    )
    second = client.post(
        f"/api/notifications/{rewarded.pk}/claim",
        {},
        format="json",
        HTTP_IDEMPOTENCY_KEY="claim-0002",
    )

    assert first.status_code == 200
    assert first.json()["balance"] == 350
    assert first.json()["reward_gold"] == 250
    assert first.json()["notification"]["claimed_at"] is not None
    assert first.json()["unread_count"] == 0
    assert replay.status_code == 200
    assert replay.content == first.content
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "notification_already_claimed"
    assert wallet_balance(player.pk) == 350
    assert LedgerEntry.objects.filter(wallet_id=player.pk, reason="campaign_reward").count() == 1
    assert InventoryItem.objects.get(user=player, item_code="frame_gold").quantity == 2


def test_claiming_someone_elses_reward_is_404_and_pays_nothing(client_for):
    thief, owner = funded_player(0), funded_player(0)
    rewarded = note(owner, reward_gold=250)

    response = client_for(thief).post(
        f"/api/notifications/{rewarded.pk}/claim",
        {},
        format="json",
        HTTP_IDEMPOTENCY_KEY="steal-0001",
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert wallet_balance(thief.pk) == 0
    assert wallet_balance(owner.pk) == 0
    assert Notification.objects.get(pk=rewarded.pk).claimed_at is None


def test_claiming_a_notification_without_reward_is_409_and_pays_nothing(client_for):
    player = funded_player(0)
    plain = note(player)

    response = client_for(player).post(
        f"/api/notifications/{plain.pk}/claim", {}, format="json", HTTP_IDEMPOTENCY_KEY="plain-0001"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "notification_has_no_reward"
    assert LedgerEntry.objects.filter(wallet_id=player.pk).count() == 0


def test_a_claim_without_an_idempotency_key_is_refused(client_for):
    player = funded_player(0)
    rewarded = note(player, reward_gold=10)

    response = client_for(player).post(f"/api/notifications/{rewarded.pk}/claim", {}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"
    assert wallet_balance(player.pk) == 0


def test_preferences_default_to_marketing_off_and_change_one_at_a_time(player, player_client):
    default = player_client.get("/api/notifications/preferences")
    changed = player_client.patch(
        "/api/notifications/preferences", {"email_marketing": True}, format="json"
    )

    assert default.json() == {
        "email_rewards": True,
        "email_events": False,
        "email_marketing": False,
        "language": "en",
    }
    assert changed.json() == {**default.json(), "email_marketing": True}
    assert NotificationPreference.objects.get(user=player).email_marketing is True


@pytest.mark.parametrize(
    "body", [{"email_marketing": "yes"}, {"language": "fr"}, {"unknown": True}]
)
def test_bad_preferences_are_400_and_change_nothing(player, player_client, body):
    response = player_client.patch("/api/notifications/preferences", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert not NotificationPreference.objects.filter(user=player).exists()
    assert User.objects.get(pk=player.pk).language == ""


def test_the_language_preference_is_the_players_language(player, player_client):
    changed = player_client.patch(
        "/api/notifications/preferences", {"language": "ko"}, format="json"
    )

    player.refresh_from_db()
    assert changed.json()["language"] == "ko"
    assert player.language == "ko"
    assert not NotificationPreference.objects.filter(user=player).exists()


def test_the_list_remembers_the_language_the_player_uses(player, player_client):
    player_client.get("/api/notifications", HTTP_ACCEPT_LANGUAGE="ko")

    player.refresh_from_db()
    assert player.language == "ko"


def test_anonymous_callers_are_401(api_client):
    assert api_client.get("/api/notifications").status_code == 401


def test_the_export_lists_every_notification_as_json(player):
    first = note(player, "first", reward_gold=5)
    note(player, "second", read_at=timezone.now())

    exported = selectors.notifications_for_export(player)

    assert [row["title"] for row in exported] == ["first", "second"]
    assert exported[0]["id"] == first.pk
    assert exported[0]["reward_gold"] == 5
    assert exported[0]["read_at"] is None
    assert isinstance(exported[1]["read_at"], str)
    assert json.loads(json.dumps(exported)) == exported


def test_the_list_costs_the_same_statements_for_one_or_twenty_notifications(
    player, player_client, django_assert_num_queries
):
    note(player)
    player_client.get("/api/notifications")  # warm the caches the authentication uses
    with CaptureQueriesContext(connection) as one:
        player_client.get("/api/notifications")
    for index in range(19):
        note(player, f"n{index}")
    with CaptureQueriesContext(connection) as twenty:
        response = player_client.get("/api/notifications")

    assert len(response.json()["results"]) == 20
    assert len(twenty) == len(one)
    # the language remembered (one update that changes nothing), the page's count, the page, the unread count
    with django_assert_num_queries(4):
        player_client.get("/api/notifications")
