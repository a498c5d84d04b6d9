import pytest
from rest_framework.test import APIClient

from accounts import services
from accounts.tests.factories import PASSWORD, UserFactory


def login(site_id: str) -> dict:
    response = APIClient().post(
        "/api/auth/login", {"site_id": site_id, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    return response.json()


def me_status(access: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get("/api/users/me").status_code


def refresh(token: str):
    return APIClient().post("/api/auth/refresh", {"refresh": token}, format="json")


@pytest.mark.django_db
def test_refresh_rotates_the_refresh_token():
    UserFactory(site_id="alice01")
    tokens = login("alice01")

    response = refresh(tokens["refresh"])

    assert response.status_code == 200
    rotated = response.json()
    assert rotated["refresh"] != tokens["refresh"]
    assert me_status(rotated["access"]) == 200
    assert refresh(rotated["refresh"]).status_code == 200


@pytest.mark.django_db
def test_reusing_a_rotated_refresh_token_revokes_every_token_of_the_user():
    UserFactory(site_id="alice01")
    first = login("alice01")
    other_device = login("alice01")
    rotated = refresh(first["refresh"]).json()

    reuse = refresh(first["refresh"])

    assert reuse.status_code == 401
    assert reuse.json()["error"]["code"] == "token_reused"
    assert refresh(rotated["refresh"]).status_code == 401
    assert refresh(other_device["refresh"]).status_code == 401
    assert me_status(rotated["access"]) == 401
    assert me_status(other_device["access"]) == 401
    assert me_status(login("alice01")["access"]) == 200  # logging in again works


@pytest.mark.parametrize("token", ["garbage", ""])
@pytest.mark.django_db
def test_refresh_with_an_invalid_token_is_4xx(token):
    response = refresh(token)

    assert response.status_code in (400, 401)
    assert response.json()["error"]["code"] in ("token_not_valid", "validation_error")


@pytest.mark.django_db
def test_an_access_token_cannot_be_used_as_a_refresh_token():
    UserFactory(site_id="alice01")
    tokens = login("alice01")

    response = refresh(tokens["access"])

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_not_valid"


@pytest.mark.django_db
def test_logout_blacklists_the_refresh_token():
    UserFactory(site_id="alice01")
    tokens = login("alice01")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    response = client.post("/api/auth/logout", {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 204
    again = client.post("/api/auth/logout", {"refresh": tokens["refresh"]}, format="json")
    assert again.status_code == 204
    assert refresh(tokens["refresh"]).status_code == 401


@pytest.mark.django_db
def test_logout_refuses_another_players_refresh_token():
    UserFactory(site_id="alice01")
    UserFactory(site_id="bobby01")
    alice, bob = login("alice01"), login("bobby01")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {alice['access']}")

    response = client.post("/api/auth/logout", {"refresh": bob["refresh"]}, format="json")

    assert response.status_code == 403
    assert refresh(bob["refresh"]).status_code == 200


@pytest.mark.django_db
def test_logout_all_revokes_every_session_at_once():
    UserFactory(site_id="alice01")
    phone, laptop = login("alice01"), login("alice01")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {phone['access']}")

    response = client.post("/api/auth/logout-all")

    assert response.status_code == 204
    assert me_status(phone["access"]) == 401
    assert me_status(laptop["access"]) == 401
    assert refresh(phone["refresh"]).status_code == 401
    assert refresh(laptop["refresh"]).status_code == 401


@pytest.mark.django_db
def test_banned_players_tokens_stop_working_immediately():
    user = UserFactory(site_id="alice01")
    tokens = login("alice01")

    services.user_set_active(user, is_active=False, actor=None)

    assert me_status(tokens["access"]) == 401
    assert refresh(tokens["refresh"]).status_code == 401
    services.user_set_active(user, is_active=True, actor=None)
    assert me_status(tokens["access"]) == 401  # unbanning does not revive revoked tokens
    assert me_status(login("alice01")["access"]) == 200
