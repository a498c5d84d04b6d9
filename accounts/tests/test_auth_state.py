"""The cached authentication state: an authenticated request reads no user row, every change is
seen by the very next request, and the database decides while Redis is unreachable
(docs/decisions/0150-auth-state-cache.md)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import connections
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.tokens import AccessToken

from accounts import auth_state, services
from accounts.auth_state import AuthStateStore, auth_state_database_reads_total
from accounts.authentication import PlayerJWTAuthentication
from accounts.models import Rank, User
from accounts.services.progression import user_vip_points_add
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.test_admin import change_form_data
from accounts.tokens import token_pair_for_user

ME = "/api/users/me"
INVENTORY = "/api/games/gacha/inventory"  # a route that needs only the player's id
NEW_PASSWORD = "An0ther-passw0rd!"
KEY_PREFIX = settings.CACHES["default"]["KEY_PREFIX"]
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def login(site_id: str, password: str = PASSWORD) -> dict[str, str]:
    response = APIClient().post(
        "/api/auth/login", {"site_id": site_id, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return dict(response.json())


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def error_of(response) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    return response.status_code, response.json()["error"]["message"]


def record_in_redis(user_id: int) -> bytes | None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return client.get(f"{KEY_PREFIX}:auth:{user_id}")  # type: ignore[return-value]  # sync client
    finally:
        client.close()


def database_reads(reason: str) -> float:
    return auth_state_database_reads_total.labels(reason=reason)._value.get()


def store(url: str = settings.REDIS_URL) -> AuthStateStore:
    return AuthStateStore(url, timeout=0.25, record_seconds=60, key_prefix=KEY_PREFIX)


# ------------------------------------------------------------------------- statements per request


@pytest.mark.django_db
def test_an_authenticated_request_reads_no_user_row_once_the_state_is_cached(
    player, client_for, django_assert_num_queries
):
    # given a fresh token (nothing cached yet)
    client = client_for(player)

    # when the player asks twice, then the first request reads the state, the second only its data
    # (the first request of the player's day also writes the day's activity row, once: analytics)
    with django_assert_num_queries(3):  # authentication state (cache miss), inventory, activity
        assert client.get(INVENTORY).status_code == 200
    with django_assert_num_queries(1):  # inventory (the day's activity is already written)
        assert client.get(INVENTORY).status_code == 200
    assert record_in_redis(player.pk) is not None


@pytest.mark.django_db
def test_the_request_user_reads_its_row_once_on_the_first_field_beyond_its_id_and_rank(
    django_assert_num_queries,
):
    # given a player and the user authentication builds from the cached state
    player = UserFactory(nickname="Lazy", rank=Rank.VIP, level=7)
    user = User.from_auth_state(player.pk, rank=Rank.VIP)

    # then the key, the rank and the checks views make cost nothing
    with django_assert_num_queries(0):
        assert (user.pk, user.id, user.rank, user.is_authenticated) == (
            player.pk,
            player.pk,
            Rank.VIP,
            True,
        )
        assert isinstance(user, User)
    # and every other field comes with one read of the row
    with django_assert_num_queries(1):
        assert (user.nickname, user.level, user.site_id, user.is_staff, user.token_version) == (
            "Lazy",
            7,
            player.site_id,
            False,
            0,
        )
    with django_assert_num_queries(0):
        assert user.phone_number == player.phone_number
        assert user.get_deferred_fields() == set()


@pytest.mark.django_db
def test_the_request_user_keeps_a_field_set_before_the_row_is_read(django_assert_num_queries):
    player = UserFactory(nickname="Before")
    user = User.from_auth_state(player.pk, rank=player.rank)
    user.nickname = "After"

    with django_assert_num_queries(1):
        assert user.level == 1

    assert user.nickname == "After"


# ------------------------------------------------------------------ every change, next request


@pytest.mark.django_db
def test_logout_refuses_the_sessions_cached_access_token_on_the_next_request():
    # given a session whose state is cached
    UserFactory(site_id="alice01")
    tokens = login("alice01")
    client = bearer(tokens["access"])
    assert client.get(INVENTORY).status_code == 200

    # when the player logs out
    assert (
        client.post("/api/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code
        == 204
    )

    # then the next request with the session's access token is refused
    assert error_of(client.get(INVENTORY)) == (401, "Token has been revoked.")


@pytest.mark.django_db
def test_logout_everywhere_refuses_every_cached_token_on_the_next_request():
    UserFactory(site_id="alice01")
    phone, laptop = login("alice01"), login("alice01")
    assert bearer(phone["access"]).get(INVENTORY).status_code == 200
    assert bearer(laptop["access"]).get(INVENTORY).status_code == 200

    assert bearer(phone["access"]).post("/api/auth/logout-all").status_code == 204

    assert error_of(bearer(phone["access"]).get(INVENTORY)) == (401, "Token has been revoked.")
    assert error_of(bearer(laptop["access"]).get(INVENTORY)) == (401, "Token has been revoked.")


@pytest.mark.django_db
def test_a_password_change_refuses_the_other_cached_tokens_on_the_next_request():
    UserFactory(site_id="alice01")
    caller, other = login("alice01"), login("alice01")
    assert bearer(other["access"]).get(INVENTORY).status_code == 200

    changed = bearer(caller["access"]).post(
        "/api/auth/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )

    assert changed.status_code == 200
    assert error_of(bearer(other["access"]).get(INVENTORY)) == (401, "Token has been revoked.")
    assert bearer(changed.json()["access"]).get(INVENTORY).status_code == 200


@pytest.mark.django_db
def test_a_ban_refuses_the_cached_token_on_the_next_request(player, client_for):
    client = client_for(player)
    assert client.get(INVENTORY).status_code == 200

    services.user_set_active(player, is_active=False, actor=None, reason="abuse")

    assert error_of(client.get(INVENTORY)) == (401, "User is inactive")


@pytest.mark.django_db
def test_a_ban_set_in_the_admin_change_form_refuses_the_cached_token(admin_client, client_for):
    # given a player whose state is cached
    player = UserFactory()
    client = client_for(player)
    assert client.get(INVENTORY).status_code == 200
    data = change_form_data(admin_client, player)
    del data["is_active"]  # an unticked box is not posted

    # when staff untick "active" in the change form
    response = admin_client.post(reverse("admin:accounts_user_change", args=[player.pk]), data)

    # then the next request is refused
    assert response.status_code == 302
    assert error_of(client.get(INVENTORY)) == (401, "User is inactive")


@pytest.mark.django_db
def test_a_ban_that_ended_is_lifted_at_login_and_the_new_token_works(time_machine):
    # given a player banned for an hour whose banned state got cached by their old token
    time_machine.move_to("2026-01-01 00:00:00+00:00", tick=False)
    player = UserFactory(site_id="alice01")
    old = login("alice01")
    services.user_set_active(
        player, is_active=False, actor=None, banned_until=timezone.now() + timedelta(hours=1)
    )
    assert error_of(bearer(old["access"]).get(INVENTORY)) == (401, "User is inactive")
    assert record_in_redis(player.pk) is not None

    # when the ban has ended and the player logs in
    time_machine.move_to("2026-01-01 01:00:01+00:00", tick=False)
    tokens = login("alice01")

    # then the new token works at once, the old one stays refused
    assert bearer(tokens["access"]).get(INVENTORY).status_code == 200
    assert bearer(old["access"]).get(INVENTORY).status_code == 401


@pytest.mark.django_db
def test_a_rank_raised_by_vip_points_reaches_the_next_requests_user(player):
    token = AccessToken(token_pair_for_user(player)["access"])
    assert PlayerJWTAuthentication().get_user(token).rank == Rank.STANDARD  # cached

    user_vip_points_add(player.pk, 500, rank_for_points=lambda points: Rank.VIP, source="test")

    assert PlayerJWTAuthentication().get_user(token).rank == Rank.VIP


@pytest.mark.django_db
def test_a_deleted_players_cached_token_finds_no_user(player, client_for):
    client = client_for(player)
    assert client.get(INVENTORY).status_code == 200

    User.objects.filter(pk=player.pk).delete()

    assert error_of(client.get(INVENTORY)) == (401, "User not found")
    assert record_in_redis(player.pk) is None


@pytest.mark.django_db
def test_a_change_made_through_one_client_is_seen_by_another_at_once(player):
    # given a second Redis client (another process's store) that has cached the state
    other = store()
    try:
        assert other.get(player.pk).is_active is True  # type: ignore[union-attr]  # the player exists
        assert record_in_redis(player.pk) is not None

        # when this process bans the player
        services.user_set_active(player, is_active=False, actor=None)

        # then the other client reads the ban on its next read: no state is kept beside Redis
        assert other.get(player.pk).is_active is False  # type: ignore[union-attr]
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_a_state_read_before_a_ban_committed_is_not_cached_after_it(monkeypatch):
    """The cache-aside race: a request reads the old row, the ban commits and removes the record,
    then the request stores what it read. The generation refuses that store."""
    # given a request that has read the player's (still active) row from the database
    player = UserFactory()
    token = AccessToken(token_pair_for_user(player)["access"])
    original_read = auth_state._state_from_database
    row_read, ban_committed = threading.Event(), threading.Event()

    def read_then_wait(user_id: int):  # type: ignore[no-untyped-def]
        state = original_read(user_id)
        row_read.set()
        assert ban_committed.wait(10)
        return state

    monkeypatch.setattr(auth_state, "_state_from_database", read_then_wait)
    authenticated: list[User] = []

    def authenticate() -> None:
        try:
            authenticated.append(PlayerJWTAuthentication().get_user(token))
        finally:
            connections.close_all()

    request = threading.Thread(target=authenticate)
    request.start()
    assert row_read.wait(10)

    # when the ban commits meanwhile, and the request then goes on
    monkeypatch.setattr(auth_state, "_state_from_database", original_read)
    services.user_set_active(player, is_active=False, actor=None)
    ban_committed.set()
    request.join(10)

    # then what the request read was not cached, and the next request is refused
    assert [user.pk for user in authenticated] == [player.pk]  # it began before the ban
    assert record_in_redis(player.pk) is None
    with pytest.raises(AuthenticationFailed, match="User is inactive"):
        PlayerJWTAuthentication().get_user(token)


# ------------------------------------------------------------------------------- Redis down


@pytest.mark.django_db
def test_while_redis_is_unreachable_the_database_refuses_a_revoked_token(monkeypatch):
    # given two sessions cached while Redis was up
    UserFactory(site_id="alice01")
    logged_out, current = login("alice01"), login("alice01")
    assert bearer(logged_out["access"]).get(INVENTORY).status_code == 200
    assert bearer(current["access"]).get(INVENTORY).status_code == 200

    # when Redis becomes unreachable and one session logs out
    monkeypatch.setattr(auth_state, "_store", store(UNREACHABLE_REDIS))
    unavailable = database_reads("redis_unavailable")
    logout = bearer(logged_out["access"]).post(
        "/api/auth/logout", {"refresh": logged_out["refresh"]}, format="json"
    )

    # then the database answers: the logged-out token is refused, the other session goes on
    assert logout.status_code == 204
    assert error_of(bearer(logged_out["access"]).get(INVENTORY)) == (
        401,
        "Token has been revoked.",
    )
    assert bearer(current["access"]).get(INVENTORY).status_code == 200
    assert database_reads("redis_unavailable") - unavailable == 3


@pytest.mark.django_db
def test_while_redis_is_unreachable_a_ban_refuses_the_next_request(
    player, client_for, monkeypatch, django_assert_num_queries
):
    client = client_for(player)
    assert client.get(INVENTORY).status_code == 200  # cached in the real Redis
    monkeypatch.setattr(auth_state, "_store", store(UNREACHABLE_REDIS))

    with django_assert_num_queries(2):  # the state from the database, the inventory
        assert client.get(INVENTORY).status_code == 200
    services.user_set_active(player, is_active=False, actor=None)

    assert error_of(client.get(INVENTORY)) == (401, "User is inactive")


@pytest.mark.django_db
def test_an_unreachable_redis_is_left_alone_after_one_failed_read(player, monkeypatch):
    unreachable = store(UNREACHABLE_REDIS)
    calls: list[str] = []
    original_mget = unreachable._client.mget

    def counted_mget(*keys):  # type: ignore[no-untyped-def]
        calls.append("mget")
        return original_mget(*keys)

    monkeypatch.setattr(unreachable._client, "mget", counted_mget)

    states = [unreachable.get(player.pk) for _ in range(3)]

    assert [state.token_version for state in states if state is not None] == [0, 0, 0]
    assert calls == ["mget"]
    assert unreachable.invalidate(player.pk) is False  # removals always try, and report it


@pytest.mark.django_db
def test_a_removal_that_failed_is_retried_once_redis_answers_again(monkeypatch):
    # given a player's state cached by another client, and a store whose removal fails
    banned, other_player = UserFactory(), UserFactory()
    assert store().get(banned.pk) is not None
    flaky = store()
    working_pipeline = flaky._client.pipeline

    def unreachable_pipeline(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise redis.exceptions.ConnectionError("network down")

    monkeypatch.setattr(flaky._client, "pipeline", unreachable_pipeline)
    assert flaky.invalidate(banned.pk) is False
    assert record_in_redis(banned.pk) is not None

    # when that store next reaches Redis, for any player
    monkeypatch.setattr(flaky._client, "pipeline", working_pipeline)
    assert flaky.get(other_player.pk) is not None

    # then the removal it owed is made
    assert record_in_redis(banned.pk) is None
