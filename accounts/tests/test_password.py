"""``POST /api/auth/password``: a player changes their own password; every other session ends."""

import pytest
from django.contrib.auth import SESSION_KEY
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import LoginFailure, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.test_races import run_together
from accounts.tokens import SESSION_CLAIM

NEW_PASSWORD = "An0ther-str0ng-one!"


def login(site_id: str, password: str = PASSWORD):
    return APIClient().post(
        "/api/auth/login", {"site_id": site_id, "password": password}, format="json"
    )


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def me_status(access: str) -> int:
    return bearer(access).get("/api/users/me").status_code


def refresh_status(token: str) -> int:
    return APIClient().post("/api/auth/refresh", {"refresh": token}, format="json").status_code


def change(client: APIClient, current: str = PASSWORD, new: str = NEW_PASSWORD):
    body = {"current_password": current, "new_password": new}
    return client.post("/api/auth/password", body, format="json")


@pytest.mark.django_db
def test_a_token_caller_gets_a_fresh_pair_and_every_other_token_is_revoked():
    UserFactory(site_id="alice01")
    phone, laptop = login("alice01").json(), login("alice01").json()

    response = change(bearer(phone["access"]))

    assert response.status_code == 200
    fresh = response.json()
    assert set(fresh) == {"access", "refresh"}
    assert me_status(fresh["access"]) == 200
    assert (
        AccessToken(fresh["access"])[SESSION_CLAIM] == AccessToken(phone["access"])[SESSION_CLAIM]
    )
    assert me_status(phone["access"]) == 401
    assert me_status(laptop["access"]) == 401
    assert refresh_status(laptop["refresh"]) == 401
    assert login("alice01").status_code == 401
    assert login("alice01", NEW_PASSWORD).status_code == 200
    assert refresh_status(fresh["refresh"]) == 200


@pytest.mark.django_db
def test_a_page_session_caller_stays_signed_in_and_every_other_session_ends():
    user = UserFactory(site_id="alice01")
    tab, other_browser = APIClient(), APIClient()
    tab.force_login(user)
    other_browser.force_login(user)
    tokens = login("alice01").json()

    response = change(tab)

    assert response.status_code == 204
    assert response.content == b""
    assert tab.get("/api/users/me").status_code == 200
    assert SESSION_KEY in tab.session
    assert other_browser.get("/api/users/me").status_code == 401
    assert me_status(tokens["access"]) == 401
    assert refresh_status(tokens["refresh"]) == 401


@pytest.mark.django_db
def test_a_wrong_current_password_changes_nothing_and_counts_as_a_failed_login():
    user = UserFactory(site_id="alice01")
    tokens = login("alice01").json()
    password_hash = User.objects.get(pk=user.pk).password

    response = change(bearer(tokens["access"]), current="not-my-password")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "password_incorrect"
    assert User.objects.get(pk=user.pk).password == password_hash
    assert User.objects.get(pk=user.pk).token_version == 0
    assert me_status(tokens["access"]) == 200
    assert list(LoginFailure.objects.values_list("lock_key", flat=True)) == [f"user:{user.pk}"]


@pytest.mark.django_db
def test_a_stolen_token_cannot_guess_the_password_past_the_lockout(settings):
    user = UserFactory(site_id="alice01")
    access = login("alice01").json()["access"]
    client = bearer(access)
    for attempt in range(settings.LOGIN_LOCK_MAX_FAILURES):
        assert change(client, current=f"guess-{attempt}").status_code == 400
    password_hash = User.objects.get(pk=user.pk).password

    response = change(client)  # the right password, but the account is locked

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "login_locked"
    assert User.objects.get(pk=user.pk).password == password_hash
    assert login("alice01").status_code == 429  # the same lockout as the login


@pytest.mark.parametrize(
    ("new_password", "problem"),
    [
        pytest.param("short", "This password is too short", id="too-short"),
        pytest.param("12345678901", "This password is entirely numeric.", id="numeric"),
        pytest.param(PASSWORD, "The new password must differ from the current one.", id="same"),
    ],
)
@pytest.mark.django_db
def test_a_weak_or_unchanged_new_password_is_refused(new_password, problem):
    user = UserFactory(site_id="alice01")
    tokens = login("alice01").json()
    password_hash = User.objects.get(pk=user.pk).password

    response = change(bearer(tokens["access"]), new=new_password)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "weak_password"
    assert any(message.startswith(problem) for message in error["details"]["new_password"])
    assert User.objects.get(pk=user.pk).password == password_hash
    assert me_status(tokens["access"]) == 200
    assert LoginFailure.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty"),
        pytest.param({"current_password": PASSWORD}, id="no-new"),
        pytest.param({"current_password": PASSWORD, "new_password": ["x"]}, id="not-a-string"),
        pytest.param({"current_password": "x" * 129, "new_password": NEW_PASSWORD}, id="long"),
    ],
)
@pytest.mark.django_db
def test_a_malformed_body_is_a_validation_error(body):
    UserFactory(site_id="alice01")
    access = login("alice01").json()["access"]

    response = bearer(access).post("/api/auth/password", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.django_db
def test_password_changes_are_rate_limited_per_player(monkeypatch):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "password", "2/min")
    UserFactory(site_id="alice01")
    client = bearer(login("alice01").json()["access"])
    assert change(client, current="wrong-1").status_code == 400
    assert change(client, current="wrong-2").status_code == 400

    response = change(client)

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert login("alice01").status_code == 200  # unchanged


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_changes_with_the_same_current_password_let_exactly_one_win():
    user = UserFactory(site_id="alice01")
    access = [login("alice01").json()["access"] for _ in range(2)]
    new_passwords = ["First-new-passw0rd!", "Second-new-passw0rd!"]
    # Both sessions' authentication state cached: the race is between the changes, not between
    # one change and the other request's authentication (which a committed change refuses).
    assert [me_status(token) for token in access] == [200, 200]

    responses = run_together(2, lambda i: change(bearer(access[i]), new=new_passwords[i]))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 400]
    loser = next(response for response in responses if response.status_code == 400)
    assert loser.json()["error"]["code"] == "password_incorrect"
    winner = new_passwords[[r.status_code for r in responses].index(200)]
    assert User.objects.get(pk=user.pk).check_password(winner)
    assert User.objects.get(pk=user.pk).token_version == 1
