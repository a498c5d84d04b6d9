"""A socket ends with its credentials: the token's expiry unless a ``reauth`` frame renews it, the
page session's end, a logout of the token's session."""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tokens import PlayerRefreshToken
from casinoclub.pages.tests.test_socket import _socket
from casinoclub.realtime.tests.helpers import (
    TIMEOUT,
    access_token,
    assert_closed_with,
    async_test,
    db,
    open_synced_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)


def short_lived_token(user, seconds: int = 1) -> str:  # type: ignore[no-untyped-def]
    """An access token of a fresh login session that expires within ``seconds`` (exp is whole
    seconds, so between seconds - 1 and seconds from now)."""
    access = PlayerRefreshToken.for_user(user).access_token
    access.set_exp(from_time=timezone.now(), lifetime=timedelta(seconds=seconds))
    return str(access)


def expires_at(token: str) -> float:
    return float(AccessToken(token, verify=False)["exp"])  # type: ignore[arg-type]


async def assert_open(communicator) -> None:  # type: ignore[no-untyped-def]
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == "pong"


@async_test
async def test_a_token_socket_closes_with_4401_at_its_tokens_expiry():
    user = await db(UserFactory)()
    token = await db(short_lived_token)(user, 2)
    communicator, _ = await open_synced_socket(token)

    await assert_closed_with(communicator, 4401)

    assert time.time() >= expires_at(token)
    await communicator.disconnect()


@async_test
async def test_a_reauth_with_a_fresh_token_keeps_the_socket_open_past_the_old_expiry():
    user = await db(UserFactory)()
    old = await db(short_lived_token)(user, 2)
    fresh = await db(access_token)(user)
    communicator, _ = await open_synced_socket(old)

    await communicator.send_json_to({"type": "reauth", "token": fresh})

    answer = await communicator.receive_json_from(timeout=TIMEOUT)
    assert answer == {
        "type": "reauthenticated",
        "user_id": user.pk,
        "seq": 0,
        "data": {"expires_at": datetime.fromtimestamp(expires_at(fresh), UTC).isoformat()},
        "timestamp": answer["timestamp"],
    }
    await asyncio.sleep(max(0.0, expires_at(old) - time.time()) + 0.3)
    await assert_open(communicator)
    await communicator.disconnect()


def _logged_out_token(user) -> str:  # type: ignore[no-untyped-def]
    tokens = (
        APIClient()
        .post("/api/auth/login", {"site_id": user.site_id, "password": PASSWORD}, format="json")
        .json()
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert (
        client.post("/api/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code
        == 204
    )
    return str(tokens["access"])


def _expired_token(user) -> str:  # type: ignore[no-untyped-def]
    access = PlayerRefreshToken.for_user(user).access_token
    access.set_exp(from_time=timezone.now() - timedelta(hours=1))
    return str(access)


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda user: "garbage", id="garbage"),
        pytest.param(lambda user: "", id="empty"),
        pytest.param(lambda user: None, id="missing"),
        pytest.param(lambda user: 12345, id="not-a-string"),
        pytest.param(_expired_token, id="expired"),
        pytest.param(lambda user: str(PlayerRefreshToken.for_user(user)), id="refresh-not-access"),
        pytest.param(_logged_out_token, id="logged-out-session"),
    ],
)
@async_test
async def test_a_reauth_with_an_invalid_token_closes_with_4401(make_token):
    user = await db(UserFactory)()
    communicator, _ = await open_synced_socket(await db(access_token)(user))
    bad = await db(make_token)(user)

    await communicator.send_json_to({"type": "reauth", "token": bad})

    await assert_closed_with(communicator, 4401)
    await communicator.disconnect()


@async_test
async def test_a_reauth_with_another_players_token_closes_with_4403():
    user, other = await db(UserFactory)(), await db(UserFactory)()
    communicator, _ = await open_synced_socket(await db(access_token)(user))

    await communicator.send_json_to({"type": "reauth", "token": await db(access_token)(other)})

    await assert_closed_with(communicator, 4403)
    await communicator.disconnect()


@async_test
async def test_a_refused_reauth_leaves_no_way_back_for_the_socket():
    user, other = await db(UserFactory)(), await db(UserFactory)()
    communicator, _ = await open_synced_socket(await db(access_token)(user))
    await communicator.send_json_to({"type": "reauth", "token": await db(access_token)(other)})
    await assert_closed_with(communicator, 4403)

    await communicator.send_json_to({"type": "reauth", "token": await db(access_token)(user)})
    await communicator.send_json_to({"type": "ping"})

    assert await communicator.receive_nothing(0.3)
    await communicator.disconnect()


@async_test
async def test_logging_out_the_tokens_session_closes_its_socket_at_the_next_ping():
    user = await db(UserFactory)()
    tokens = await db(
        lambda: (
            APIClient()
            .post("/api/auth/login", {"site_id": user.site_id, "password": PASSWORD}, format="json")
            .json()
        )
    )()
    communicator, _ = await open_synced_socket(tokens["access"])

    def logout() -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        return client.post(
            "/api/auth/logout", {"refresh": tokens["refresh"]}, format="json"
        ).status_code

    assert await db(logout)() == 204
    await communicator.send_json_to({"type": "ping"})

    await assert_closed_with(communicator, 4401)
    await communicator.disconnect()


# ---------------------------------------------------------------- page session sockets


def _session_ending_in(user, seconds: float) -> str:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(session_key=session_key).update(
        expire_date=timezone.now() + timedelta(seconds=seconds)
    )
    return str(session_key)


async def _open_session_socket(session_key: str):  # type: ignore[no-untyped-def]
    communicator = _socket(session_key)
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    for expected in ("sync_connected", "initial_state"):
        assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == expected
    return communicator


@async_test
async def test_a_session_socket_closes_with_4401_when_its_session_ends():
    user = await db(UserFactory)()
    session_key = await db(_session_ending_in)(user, 1)
    communicator = await _open_session_socket(session_key)
    started = time.monotonic()

    await assert_closed_with(communicator, 4401)

    assert time.monotonic() - started > 0.5
    await communicator.disconnect()


@async_test
async def test_a_session_socket_goes_on_when_its_session_was_extended_meanwhile():
    user = await db(UserFactory)()
    session_key = await db(_session_ending_in)(user, 1)
    communicator = await _open_session_socket(session_key)

    await db(Session.objects.filter(session_key=session_key).update)(
        expire_date=timezone.now() + timedelta(hours=1)
    )
    await asyncio.sleep(1.3)

    await assert_open(communicator)
    await communicator.disconnect()


@async_test
async def test_a_session_socket_can_move_to_a_token_with_reauth():
    user = await db(UserFactory)()
    session_key = await db(_session_ending_in)(user, 1)
    communicator = await _open_session_socket(session_key)
    fresh = await db(access_token)(user)

    await communicator.send_json_to({"type": "reauth", "token": fresh})
    assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == "reauthenticated"
    await db(Session.objects.filter(session_key=session_key).delete)()
    await asyncio.sleep(1.3)

    await assert_open(communicator)  # bound by the token now, not by the (ended) session
    await communicator.disconnect()
