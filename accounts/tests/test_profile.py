import pytest

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.validators import login_skeleton

PRIVATE_FIELDS = {"site_id", "phone_number", "vip_points", "experience", "is_staff", "password"}


@pytest.mark.django_db
def test_me_returns_the_callers_profile(player, player_client):
    response = player_client.get("/api/users/me")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == player.pk
    assert body["site_id"] == player.site_id
    assert body["phone_number"] == player.phone_number
    assert body["level"] == 1
    assert body["experience"] == 0
    assert body["max_experience"] == 100
    assert body["rank"] == "STANDARD"
    assert "password" not in body


@pytest.mark.django_db
def test_me_requires_authentication(api_client):
    response = api_client.get("/api/users/me")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
def test_patch_me_changes_nickname_and_phone(player, player_client):
    response = player_client.patch(
        "/api/users/me", {"nickname": "Renamed", "phone_number": "+82 10 9999 0000"}, format="json"
    )

    assert response.status_code == 200
    player.refresh_from_db()
    assert player.nickname == "Renamed"
    assert player.phone_number == "+821099990000"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"nickname": "TAKEN"}, 409, "nickname_taken"),
        ({"phone_number": "01077777777"}, 409, "phone_number_taken"),
        ({"nickname": "x"}, 400, "validation_error"),
        ({"rank": "VIP"}, 400, "validation_error"),
        ({"level": 99}, 400, "validation_error"),
        ({"nickname": "n" * 200}, 400, "validation_error"),
    ],
)
@pytest.mark.django_db
def test_patch_me_rejects_bad_or_forbidden_changes(player, player_client, body, status, code):
    UserFactory(nickname="taken", phone_number="01077777777")
    before = User.objects.values().get(pk=player.pk)

    response = player_client.patch("/api/users/me", body, format="json")

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert User.objects.values().get(pk=player.pk) == before


@pytest.mark.django_db
def test_public_profile_never_shows_private_fields(player_client):
    other = UserFactory(nickname="Other")

    response = player_client.get(f"/api/users/{other.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["nickname"] == "Other"
    assert body["id"] == other.pk
    assert not PRIVATE_FIELDS & set(body)


@pytest.mark.django_db
def test_public_profile_of_unknown_or_banned_player_is_404(player_client):
    banned = UserFactory(is_active=False)

    assert player_client.get(f"/api/users/{banned.pk}").status_code == 404
    assert player_client.get("/api/users/999999").json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("other", "nickname"),
    [
        ({"site_id": "famous"}, "Famous"),  # another player's site_id
        ({"site_id": "famous"}, "FAM0US"),
        ({"nickname": "Alice"}, "Аlice"),  # Cyrillic А
    ],
)
@pytest.mark.django_db
def test_patch_me_refuses_a_nickname_that_looks_like_another_players_name(
    player, player_client, other, nickname
):
    UserFactory(**other)
    before = player.nickname

    response = player_client.patch("/api/users/me", {"nickname": nickname}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "nickname_taken"
    player.refresh_from_db()
    assert player.nickname == before


@pytest.mark.django_db
def test_patch_me_may_take_a_look_alike_of_the_players_own_names(player, player_client):
    response = player_client.patch(
        "/api/users/me", {"nickname": player.site_id.upper()}, format="json"
    )

    assert response.status_code == 200
    player.refresh_from_db()
    assert player.nickname == player.site_id.upper()
    assert sorted(player.login_names.values_list("skeleton", flat=True)) == [
        login_skeleton(player.site_id)
    ]
