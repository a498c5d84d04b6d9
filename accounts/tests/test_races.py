"""Races forced on PostgreSQL: real threads, separate connections, released together."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import InviteCode, LoginName, User
from accounts.tests.factories import InviteCodeFactory, UserFactory
from accounts.tests.test_tokens import login, logout, me_status
from accounts.tokens import SESSION_CLAIM


def run_together(count: int, action):  # type: ignore[no-untyped-def]
    """Run ``action(i)`` in ``count`` threads that start at the same instant; return results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = action(index)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_signups_cannot_both_take_the_last_use_of_a_code():
    InviteCodeFactory(code="LASTONE", max_uses=3, uses=2)

    def signup(index: int) -> int:
        body = {
            "site_id": f"racer{index:03d}",
            "nickname": f"Racer{index:03d}",
            "phone_number": f"0109000{index:04d}",
            "password": "Str0ng-passw0rd!",
            "invite_code": "LASTONE",
            "birth_date": "1990-01-01",
        }
        return APIClient().post("/api/auth/signup", body, format="json").status_code

    statuses = run_together(8, signup)

    assert sorted(statuses) == [201] + [400] * 7
    assert InviteCode.objects.get(code="LASTONE").uses == 3
    assert User.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_signups_with_one_site_id_create_one_user():
    def signup(index: int) -> int:
        body = {
            "site_id": "samename",
            "nickname": f"Twin{index}",
            "phone_number": f"0108000{index:04d}",
            "password": "Str0ng-passw0rd!",
            "invite_code": "5858",
            "birth_date": "1990-01-01",
        }
        return APIClient().post("/api/auth/signup", body, format="json").status_code

    statuses = run_together(6, signup)

    assert sorted(statuses) == [201] + [409] * 5
    assert User.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_let_exactly_one_through():
    UserFactory(site_id="alice01")
    token = login("alice01")["refresh"]

    statuses = run_together(
        6,
        lambda _: (
            APIClient().post("/api/auth/refresh", {"refresh": token}, format="json").status_code
        ),
    )

    assert sorted(statuses) == [200] + [401] * 5


@pytest.mark.django_db(transaction=True)
def test_concurrent_logouts_of_one_players_sessions_lose_none_of_them():
    """Each logout rewrites the player's map of logged-out sessions: under the row lock, so no
    concurrent logout overwrites another's entry."""
    user = UserFactory(site_id="alice01")
    sessions = [login("alice01") for _ in range(8)]

    statuses = run_together(
        8, lambda i: logout(sessions[i]["access"], sessions[i]["refresh"]).status_code
    )

    assert statuses == [204] * 8
    user.refresh_from_db()
    assert set(user.revoked_sessions) == {
        AccessToken(tokens["access"])[SESSION_CLAIM] for tokens in sessions
    }
    assert [me_status(tokens["access"]) for tokens in sessions] == [401] * 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_signups_with_look_alike_names_create_one_user(monkeypatch):
    # given the friendly pre-check is passed by everyone (as when all run it at the same instant),
    # so only the database can stop the look-alikes
    from accounts.services import auth

    monkeypatch.setattr(auth, "login_name_is_taken", lambda *args, **kwargs: False)
    claims = [
        ("famous", "Player0"),  # a site_id
        ("player1", "Famous"),  # a nickname equal to it
        ("player2", "FAM0US"),
        ("player3", "Fаmous"),  # Cyrillic а
        ("fam0us", "Player4"),
        ("player5", "ＦＡＭＯＵＳ"),  # full-width
    ]

    def signup(index: int) -> tuple[int, str]:
        site_id, nickname = claims[index]
        body = {
            "site_id": site_id,
            "nickname": nickname,
            "phone_number": f"0107000{index:04d}",
            "password": "Str0ng-passw0rd!",
            "invite_code": "5858",
            "birth_date": "1990-01-01",
        }
        response = APIClient().post("/api/auth/signup", body, format="json")
        code = response.json()["error"]["code"] if response.status_code != 201 else "created"
        return response.status_code, code

    results = run_together(len(claims), signup)

    # then exactly one signup wins; the others are 409 with the field at fault
    assert sorted(status for status, _ in results) == [201] + [409] * 5
    assert {code for _, code in results} <= {"created", "site_id_taken", "nickname_taken"}
    assert User.objects.count() == 1
    winner = User.objects.get()
    assert LoginName.objects.filter(skeleton="famous").get().user_id == winner.pk
