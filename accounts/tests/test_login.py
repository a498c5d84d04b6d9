from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from prometheus_client import REGISTRY

from accounts.models import LoginFailure
from accounts.tests.factories import PASSWORD, UserFactory

LOGIN = "/api/auth/login"


def locked_total() -> float:
    return REGISTRY.get_sample_value("auth_login_locked_total") or 0.0


@pytest.mark.django_db
def test_login_by_site_id_returns_tokens_that_authenticate(api_client):
    user = UserFactory(site_id="alice01")

    response = api_client.post(LOGIN, {"site_id": "ALICE01", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert response.json()["user"]["id"] == user.pk
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert api_client.get("/api/users/me").json()["site_id"] == "alice01"


@pytest.mark.django_db
def test_login_by_nickname_is_case_insensitive(api_client):
    user = UserFactory(nickname="LuckyCat")

    response = api_client.post(LOGIN, {"nickname": "luckycat", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert response.json()["user"]["id"] == user.pk


@pytest.mark.parametrize(
    "body",
    [
        {"site_id": "alice01", "password": "wrong-password"},
        {"site_id": "nobody", "password": PASSWORD},
    ],
)
@pytest.mark.django_db
def test_login_with_bad_credentials_is_401(api_client, body):
    UserFactory(site_id="alice01")

    response = api_client.post(LOGIN, body, format="json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert "access" not in response.json()


@pytest.mark.parametrize(
    "body",
    [
        {"password": PASSWORD},
        {"site_id": "alice01", "nickname": "x", "password": PASSWORD},
        {"site_id": "alice01"},
        {"site_id": "alice01", "password": PASSWORD, "remember": True},
    ],
)
@pytest.mark.django_db
def test_login_with_malformed_body_is_400(api_client, body):
    response = api_client.post(LOGIN, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.django_db
def test_five_failures_lock_the_account_until_the_window_passes(api_client):
    UserFactory(site_id="alice01", nickname="Alice")
    locked_before = locked_total()
    start = timezone.now()

    with time_machine.travel(start, tick=False) as clock:
        for _ in range(5):
            failed = api_client.post(
                LOGIN, {"site_id": "alice01", "password": "nope"}, format="json"
            )
            assert failed.status_code == 401
        # locked now, even with the right password and even through the nickname
        locked = api_client.post(LOGIN, {"nickname": "alice", "password": PASSWORD}, format="json")
        assert locked.status_code == 429
        assert locked.json()["error"]["code"] == "login_locked"
        assert locked.json()["retry_after_minutes"] == 10
        assert locked_total() == locked_before + 1

        clock.shift(timedelta(minutes=6))
        still = api_client.post(LOGIN, {"site_id": "alice01", "password": PASSWORD}, format="json")
        assert still.status_code == 429
        assert still.json()["retry_after_minutes"] == 4

        clock.shift(timedelta(minutes=4, seconds=1))
        unlocked = api_client.post(
            LOGIN, {"site_id": "alice01", "password": PASSWORD}, format="json"
        )
        assert unlocked.status_code == 200
    assert not LoginFailure.objects.exists()  # a successful login clears the record


@pytest.mark.django_db
def test_four_failures_do_not_lock(api_client):
    UserFactory(site_id="alice01")
    for _ in range(4):
        api_client.post(LOGIN, {"site_id": "alice01", "password": "nope"}, format="json")

    response = api_client.post(LOGIN, {"site_id": "alice01", "password": PASSWORD}, format="json")

    assert response.status_code == 200


@pytest.mark.django_db
def test_banned_user_cannot_log_in(api_client):
    UserFactory(site_id="alice01", is_active=False)

    response = api_client.post(LOGIN, {"site_id": "alice01", "password": PASSWORD}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "account_banned"
    assert "access" not in response.json()


@pytest.mark.django_db
def test_login_failures_purge_task_deletes_only_expired_records():
    from accounts.tasks import login_failures_purge_task

    LoginFailure.objects.create(
        lock_key="name:x", created_at=timezone.now() - timedelta(minutes=11)
    )
    recent = LoginFailure.objects.create(lock_key="name:x", created_at=timezone.now())

    login_failures_purge_task.delay()

    assert list(LoginFailure.objects.values_list("pk", flat=True)) == [recent.pk]


# ---------------------------------------------------------------- lockout per client address


def login_from(api_client, address: str, password: str, **login):  # type: ignore[no-untyped-def]
    return api_client.post(
        LOGIN, {**login, "password": password}, format="json", REMOTE_ADDR=address
    )


@pytest.mark.django_db
def test_guessing_at_a_public_nickname_from_one_address_does_not_lock_its_owner_out(api_client):
    # given a player whose nickname is public, and a guesser who fails five times from one address
    owner = UserFactory(site_id="owner01", nickname="Famous")
    for _ in range(5):
        guess = login_from(api_client, "203.0.113.7", "guess", nickname="famous")
        assert guess.status_code == 401

    # when the guesser tries again, and the owner logs in from their own address
    locked = login_from(api_client, "203.0.113.7", PASSWORD, nickname="famous")
    owner_login = login_from(api_client, "198.51.100.20", PASSWORD, site_id="owner01")

    # then the guesser's address is locked and the owner is not
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "login_locked"
    assert owner_login.status_code == 200
    owner.refresh_from_db()
    assert owner.last_login is not None
    # the owner's success does not wipe the guesser's failures (they keep counting)
    assert LoginFailure.objects.filter(ip_address="203.0.113.7").count() == 5
    still_locked = login_from(api_client, "203.0.113.7", PASSWORD, nickname="famous")
    assert still_locked.status_code == 429


@pytest.mark.django_db
def test_failures_spread_over_many_addresses_hit_the_account_wide_ceiling(api_client, settings):
    # given an account-wide ceiling of 12 failures and guesses from many addresses (4 each)
    settings.LOGIN_LOCK_ACCOUNT_MAX_FAILURES = 12
    UserFactory(site_id="target01")
    for n in range(12):
        response = login_from(api_client, f"203.0.113.{n // 4 + 1}", "guess", site_id="target01")
        assert response.status_code == 401

    # when anyone, even the owner from a fresh address, tries within the window
    owner = login_from(api_client, "198.51.100.20", PASSWORD, site_id="target01")

    # then the account is locked for every address until the window passes
    assert owner.status_code == 429
    assert owner.json()["error"]["code"] == "login_locked"
    assert owner.json()["retry_after_minutes"] == 10
    assert LoginFailure.objects.count() == 12


@pytest.mark.django_db
def test_one_address_locked_on_one_account_can_still_log_in_to_another(api_client):
    UserFactory(site_id="first01")
    UserFactory(site_id="second01")
    for _ in range(5):
        login_from(api_client, "203.0.113.9", "guess", site_id="first01")

    response = login_from(api_client, "203.0.113.9", PASSWORD, site_id="second01")

    assert response.status_code == 200
