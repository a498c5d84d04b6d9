import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, UntypedToken

from accounts import services
from accounts.services import auth as auth_services
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tokens import SESSION_CLAIM


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
    tokens, other_session = login("alice01"), login("alice01")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    response = client.post("/api/auth/logout", {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 204
    # Idempotent: the same refresh token logged out again (from a session still alive).
    assert logout(other_session["access"], tokens["refresh"]).status_code == 204
    assert me_status(other_session["access"]) == 200
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


def logout(access: str, refresh_token: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.post("/api/auth/logout", {"refresh": refresh_token}, format="json")


@pytest.mark.django_db
def test_logout_refuses_the_access_token_of_that_session_at_once():
    UserFactory(site_id="alice01")
    phone, laptop = login("alice01"), login("alice01")

    response = logout(phone["access"], phone["refresh"])

    assert response.status_code == 204
    assert me_status(phone["access"]) == 401
    assert me_status(laptop["access"]) == 200  # another login session is untouched
    assert refresh(laptop["refresh"]).status_code == 200


@pytest.mark.django_db
def test_logout_refuses_every_access_token_the_session_was_refreshed_into():
    UserFactory(site_id="alice01")
    first = login("alice01")
    rotated = refresh(first["refresh"]).json()

    response = logout(rotated["access"], rotated["refresh"])

    assert response.status_code == 204
    assert me_status(first["access"]) == 401
    assert me_status(rotated["access"]) == 401


@pytest.mark.django_db
def test_a_refresh_keeps_the_login_session_of_the_token():
    UserFactory(site_id="alice01")
    tokens = login("alice01")

    rotated = refresh(tokens["refresh"]).json()

    session_id = AccessToken(tokens["access"])[SESSION_CLAIM]
    assert len(session_id) == 32
    assert AccessToken(rotated["access"])[SESSION_CLAIM] == session_id
    assert UntypedToken(rotated["refresh"])[SESSION_CLAIM] == session_id
    assert AccessToken(login("alice01")["access"])[SESSION_CLAIM] != session_id


@pytest.mark.django_db
def test_an_authenticated_request_costs_no_extra_query_for_the_logout_check(
    django_assert_num_queries,
):
    """The logged-out sessions come with the cached authentication state: once it is cached, the
    profile costs the user row (read once, for all its fields), the wallet and the equipped items,
    and a logged-out session's token is refused without any query."""
    UserFactory(site_id="alice01")
    logged_out, current = login("alice01"), login("alice01")
    assert logout(logged_out["access"], logged_out["refresh"]).status_code == 204
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {current['access']}")
    assert client.get("/api/users/me").status_code == 200  # caches the state

    with django_assert_num_queries(3):
        assert client.get("/api/users/me").status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {logged_out['access']}")
    with django_assert_num_queries(0):
        assert client.get("/api/users/me").status_code == 401


@pytest.mark.django_db
def test_logged_out_sessions_are_pruned_once_their_access_tokens_have_expired(time_machine):
    user = UserFactory(site_id="alice01")
    time_machine.move_to("2026-01-01 00:00:00+00:00", tick=False)
    first = login("alice01")
    assert logout(first["access"], first["refresh"]).status_code == 204
    time_machine.move_to("2026-01-01 00:16:00+00:00", tick=False)  # access lifetime: 15 minutes
    second = login("alice01")

    assert logout(second["access"], second["refresh"]).status_code == 204

    user.refresh_from_db()
    assert list(user.revoked_sessions) == [AccessToken(second["access"])[SESSION_CLAIM]]


@pytest.mark.django_db
def test_too_many_live_logged_out_sessions_revoke_every_token_instead(monkeypatch):
    user = UserFactory(site_id="alice01")
    monkeypatch.setattr(auth_services, "MAX_REVOKED_SESSIONS", 2)
    sessions = [login("alice01") for _ in range(4)]
    for tokens in sessions[:2]:
        assert logout(tokens["access"], tokens["refresh"]).status_code == 204
    assert me_status(sessions[3]["access"]) == 200

    assert logout(sessions[2]["access"], sessions[2]["refresh"]).status_code == 204

    user.refresh_from_db()
    assert user.revoked_sessions == {}
    assert user.token_version == 1
    assert me_status(sessions[3]["access"]) == 401
    assert refresh(sessions[3]["refresh"]).status_code == 401


@pytest.mark.django_db
def test_a_refresh_token_revoked_by_logout_all_coming_back_ends_no_newer_session():
    """Another device refreshing after "log out everywhere" is not a theft signal: its token was
    already dead, and the session the player opened since must survive it."""
    UserFactory(site_id="alice01")
    old_device = login("alice01")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {old_device['access']}")
    assert client.post("/api/auth/logout-all").status_code == 204
    new_session = login("alice01")

    response = refresh(old_device["refresh"])

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_not_valid"
    assert me_status(new_session["access"]) == 200
    assert refresh(new_session["refresh"]).status_code == 200
