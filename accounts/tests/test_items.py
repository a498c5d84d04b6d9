"""Items with a use: equip one owned item per kind; it shows on the profile and the leaderboard."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import translation
from rest_framework.test import APIClient

from accounts import services
from accounts.exceptions import ItemNotOwned
from accounts.items import item_display_name, item_kind, item_public
from accounts.models import EquippedItem
from accounts.selectors import equipped_for_users
from accounts.tests.factories import UserFactory
from accounts.tests.test_races import run_together
from accounts.tokens import token_pair_for_user


def client_for(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(user)['access']}")
    return client


def give(user, *item_codes: str) -> None:  # type: ignore[no-untyped-def]
    with transaction.atomic():
        for code in item_codes:
            services.inventory_add(user.pk, code)


def equipped_rows(user) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return list(
        EquippedItem.objects.filter(user=user).order_by("kind").values_list("kind", "item_code")
    )


def test_item_kinds_and_names_come_from_the_code_never_shown_raw():
    assert item_kind("frame_silver") == "frame"
    assert item_kind("card_back_royal") == "card_back"
    assert item_kind("battle_pass_premium:s1") is None
    assert item_kind("frame_") is None
    assert item_display_name("frame_silver") == "Silver avatar frame"
    assert item_display_name("battle_pass_premium:s1") == "Premium battle pass"
    assert item_display_name("frame_ruby_star") == "Ruby star (Avatar frame)"


def test_item_names_follow_the_players_language():
    with translation.override("ko"):
        assert item_display_name("frame_silver") == "실버 아바타 프레임"
        assert item_public("skin_jade_tiger")["kind_name"] == "스킨"


@pytest.mark.django_db
def test_a_player_equips_an_owned_frame_and_it_shows_on_the_profile_and_public_profile():
    # given a player who owns two frames and an emote
    player = UserFactory()
    give(player, "frame_silver", "frame_gold", "emote_lucky_cat")
    client = client_for(player)

    # when they equip the silver frame, then the gold one, and the emote
    first = client.post("/api/users/me/items/equip", {"item_code": "frame_silver"}, format="json")
    second = client.post("/api/users/me/items/equip", {"item_code": "frame_gold"}, format="json")
    third = client.post(
        "/api/users/me/items/equip", {"item_code": "emote_lucky_cat"}, format="json"
    )

    # then one item per kind is equipped: the gold frame replaced the silver one
    assert [first.status_code, second.status_code, third.status_code] == [200, 200, 200]
    assert equipped_rows(player) == [("emote", "emote_lucky_cat"), ("frame", "frame_gold")]
    gold_frame = {
        "item_code": "frame_gold",
        "name": "Gold avatar frame",
        "kind": "frame",
        "kind_name": "Avatar frame",
    }
    emote = {
        "item_code": "emote_lucky_cat",
        "name": "Lucky cat emote",
        "kind": "emote",
        "kind_name": "Emote",
    }
    assert third.json()["equipped"] == [gold_frame, emote]
    items = {row["item_code"]: row["is_equipped"] for row in third.json()["items"]}
    assert items == {"emote_lucky_cat": True, "frame_gold": True, "frame_silver": False}
    # and it shows wherever other players see them
    assert client.get("/api/users/me").json()["equipped"] == [gold_frame, emote]
    other = client_for(UserFactory())
    assert other.get(f"/api/users/{player.pk}").json()["equipped"] == [gold_frame, emote]


@pytest.mark.django_db
def test_equipping_an_item_the_player_does_not_own_is_refused_and_changes_nothing():
    # given a player with a silver frame equipped, and another player who owns a gold frame
    player = UserFactory()
    give(player, "frame_silver")
    services.item_equip(player.pk, "frame_silver")
    give(UserFactory(), "frame_gold")
    client = client_for(player)

    # when they try to equip the gold frame they do not own
    response = client.post("/api/users/me/items/equip", {"item_code": "frame_gold"}, format="json")

    # then it is refused with a stable code and the silver frame stays equipped
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "item_not_owned"
    assert equipped_rows(player) == [("frame", "frame_silver")]


@pytest.mark.django_db
def test_an_item_used_up_to_zero_counts_as_not_owned():
    # given a player whose only gold frame was taken back (a refunded purchase)
    player = UserFactory()
    give(player, "frame_gold")
    with transaction.atomic():
        services.inventory_remove(player.pk, "frame_gold")

    # when they equip it
    response = client_for(player).post(
        "/api/users/me/items/equip", {"item_code": "frame_gold"}, format="json"
    )

    # then it is refused and nothing is equipped
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "item_not_owned"
    assert equipped_rows(player) == []


@pytest.mark.django_db
def test_an_equipped_item_that_is_taken_back_stops_showing():
    # given a player showing a gold frame
    player = UserFactory()
    give(player, "frame_gold")
    services.item_equip(player.pk, "frame_gold")

    # when the frame leaves their inventory (a refund takes it back)
    with transaction.atomic():
        services.inventory_remove(player.pk, "frame_gold")

    # then it no longer shows anywhere
    client = client_for(player)
    assert client.get("/api/users/me").json()["equipped"] == []
    assert client.get("/api/users/me/items").json() == {"items": [], "equipped": []}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {"item_code": "battle_pass_premium:s1"},
            400,
            "validation_error",
        ),  # no slot: the schema says
        ({"item_code": ""}, 400, "validation_error"),
        ({"item_code": "x" * 65}, 400, "validation_error"),
        ({"item_code": "frame_silver", "user_id": 1}, 400, "validation_error"),
        ({}, 400, "validation_error"),
    ],
)
def test_bad_equip_requests_are_4xx_with_a_stable_code_and_change_nothing(body, status, code):
    # given a player who owns a premium pass and a silver frame
    player = UserFactory()
    give(player, "battle_pass_premium:s1", "frame_silver")

    # when the request is bad
    response = client_for(player).post("/api/users/me/items/equip", body, format="json")

    # then it is refused and nothing is equipped
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert equipped_rows(player) == []


@pytest.mark.django_db
def test_unequip_empties_one_slot_and_is_idempotent():
    # given a player with a frame and an emote equipped
    player = UserFactory()
    give(player, "frame_silver", "emote_lucky_cat")
    services.item_equip(player.pk, "frame_silver")
    services.item_equip(player.pk, "emote_lucky_cat")
    client = client_for(player)

    # when they empty the frame slot twice, and ask for a slot that does not exist
    first = client.post("/api/users/me/items/unequip", {"kind": "frame"}, format="json")
    again = client.post("/api/users/me/items/unequip", {"kind": "frame"}, format="json")
    unknown = client.post("/api/users/me/items/unequip", {"kind": "hat"}, format="json")

    # then only the frame slot is empty
    assert [first.status_code, again.status_code] == [200, 200]
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "validation_error"
    assert equipped_rows(player) == [("emote", "emote_lucky_cat")]


@pytest.mark.django_db
def test_the_item_routes_need_a_login():
    anonymous = APIClient()

    assert anonymous.get("/api/users/me/items").status_code == 401
    response = anonymous.post(
        "/api/users/me/items/equip", {"item_code": "frame_silver"}, format="json"
    )
    assert response.status_code == 401
    assert EquippedItem.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_equips_of_one_kind_leave_exactly_one_frame_equipped():
    # given a player who owns three frames
    player = UserFactory()
    frames = ["frame_bronze", "frame_silver", "frame_gold"]
    give(player, *frames)

    # when they equip all three at the same instant, many times over
    results = run_together(12, lambda index: services.item_equip(player.pk, frames[index % 3]))

    # then every call succeeded and exactly one frame is equipped: one of theirs
    assert [result["kind"] for result in results] == ["frame"] * 12
    rows = equipped_rows(player)
    assert len(rows) == 1
    assert rows[0][0] == "frame"
    assert rows[0][1] in frames


@pytest.mark.django_db(transaction=True)
def test_an_item_taken_back_while_being_equipped_never_shows():
    # given players who each own one gold frame
    players = [UserFactory() for _ in range(6)]
    for player in players:
        give(player, "frame_gold")

    def take_back(user_id: int) -> int:
        with transaction.atomic():
            return services.inventory_remove(user_id, "frame_gold")

    def equip(user_id: int) -> str:
        try:
            return services.item_equip(user_id, "frame_gold")["item_code"]
        except ItemNotOwned:
            return "not owned"

    # when each frame is equipped and taken back (a refund) at the same instant
    results = run_together(
        12,
        lambda index: (take_back if index % 2 else equip)(players[index // 2].pk),
    )

    # then every frame is gone and none shows, whichever came first
    assert results[1::2] == [1] * 6
    assert set(results[0::2]) <= {"frame_gold", "not owned"}
    assert equipped_for_users([player.pk for player in players]) == {}
