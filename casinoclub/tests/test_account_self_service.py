"""Account self-service: export my data (every section, only mine) and delete my account
(password, grace period, anonymised after it with the ledger kept)."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.exports import export_section_names
from accounts.models import AuditLogEntry, LedgerEntry, LoginName, User, Wallet
from accounts.tasks import accounts_anonymise_due_task
from accounts.tests.factories import PASSWORD
from accounts.tokens import token_pair_for_user
from games import services as crash_services
from games.models import GameRound
from games.tests.crash_helpers import chain_where_first_round, running_round_with_bet
from games.tests.factories import funded_player
from liveops.models import Notification
from shop.models import Purchase
from shop.tests.factories import GoldPackFactory

pytestmark = pytest.mark.django_db

_keys = (f"self-key-{n:06d}" for n in itertools.count())


def client_of(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(user)['access']}")
    return client


def play_and_buy(user) -> None:  # type: ignore[no-untyped-def]
    client = client_of(user)
    for path, body in (
        ("/api/games/slot/spin", {"bet": 10}),
        ("/api/games/crash/bet", {"bet": 10}),
        ("/api/shop/buy", {"product_code": "pack-export"}),
    ):
        response = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=next(_keys))
        assert response.status_code == 200, response.content


def test_the_export_has_every_section_with_my_data_and_nothing_of_other_players():
    GoldPackFactory(code="pack-export", gold_amount=1000)
    chain_where_first_round(lambda crash: True)
    crash_services.crash_loop_step()  # the shared crash round takes bets
    me = funded_player(1000, email="me@example.com")
    other = funded_player(1000, nickname="OtherOne", phone_number="01099998888")
    play_and_buy(me)
    play_and_buy(other)
    mine = Notification.objects.create(user=me, category="rewards", title="Mine")
    Notification.objects.create(user=other, category="rewards", title="Theirs")

    response = client_of(me).get("/api/users/me/export")

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="casinoclub-data-{me.pk}.json"'
    data = json.loads(response.content)
    assert sorted(data) == export_section_names()
    assert {"profile", "ledger", "refills", "rounds", "purchases", "notifications"} <= set(data)
    assert [row["id"] for row in data["notifications"]] == [mine.pk]
    assert data["profile"]["site_id"] == me.site_id
    assert data["profile"]["email"] == "me@example.com"
    assert [row["id"] for row in data["ledger"]] == list(
        LedgerEntry.objects.filter(wallet_id=me.pk).order_by("pk").values_list("pk", flat=True)
    )
    assert [row["id"] for row in data["rounds"]] == list(
        GameRound.objects.filter(user=me).order_by("pk").values_list("pk", flat=True)
    )
    assert [row["receipt"] for row in data["purchases"]] == list(
        Purchase.objects.filter(user=me).order_by("pk").values_list("receipt", flat=True)
    )
    text = response.content.decode()
    assert other.site_id not in text
    assert "OtherOne" not in text
    assert "01099998888" not in text
    for receipt in Purchase.objects.filter(user=other).values_list("receipt", flat=True):
        assert receipt not in text


def test_the_export_never_shows_the_secret_crash_point_of_an_open_round():
    me = funded_player(1000)
    shared, _bet_id = running_round_with_bet(client_of(me))

    response = client_of(me).get("/api/users/me/export")
    [round_row] = response.json()["rounds"]

    assert round_row["state"] == "open"
    assert round_row["outcome"] is None
    assert shared.hash not in response.content.decode()


def test_the_export_needs_a_login():
    assert APIClient().get("/api/users/me/export").status_code == 401


def request_deletion(user, password=PASSWORD):  # type: ignore[no-untyped-def]
    return client_of(user).post("/api/users/me/delete", {"password": password}, format="json")


def test_a_wrong_password_does_not_schedule_the_deletion():
    player = funded_player(100)

    response = request_deletion(player, "not-my-password")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "password_incorrect"
    player.refresh_from_db()
    assert player.deletion_requested_at is None


def test_deletion_is_anonymised_after_the_grace_period_and_the_ledger_is_kept(settings):
    settings.ACCOUNT_DELETION_GRACE_DAYS = 14
    player = funded_player(700, email="gone@example.com", nickname="Leaving")
    tokens = token_pair_for_user(player)
    entries = list(LedgerEntry.objects.filter(wallet_id=player.pk).values_list("pk", "delta"))
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        response = request_deletion(player)
    with time_machine.travel(start + timedelta(days=13, hours=23), tick=False):
        early = accounts_anonymise_due_task.delay().get()
    with time_machine.travel(start + timedelta(days=14, minutes=1), tick=False):
        due = accounts_anonymise_due_task.delay().get()
        again = accounts_anonymise_due_task.delay().get()

    assert response.status_code == 200
    body = response.json()
    assert body["grace_days"] == 14
    assert datetime.fromisoformat(body["deletion_scheduled_for"]) == start + timedelta(days=14)
    assert (early, due, again) == (0, 1, 0)
    anonymous = User.objects.get(pk=player.pk)
    assert anonymous.site_id == f"deleted_{player.pk}"
    assert anonymous.nickname == f"deleted_{player.pk}"
    assert anonymous.phone_number != player.phone_number
    assert (anonymous.email, anonymous.birth_date, anonymous.is_active) == ("", None, False)
    assert anonymous.has_usable_password() is False
    assert anonymous.anonymised_at is not None
    assert (
        list(LedgerEntry.objects.filter(wallet_id=player.pk).values_list("pk", "delta")) == entries
    )
    assert Wallet.objects.get(pk=player.pk).balance == 700
    assert not LoginName.objects.filter(user=player, skeleton__contains="leaving").exists()
    old = APIClient()
    old.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert old.get("/api/users/me").status_code == 401
    login = APIClient().post(
        "/api/auth/login", {"site_id": player.site_id, "password": PASSWORD}, format="json"
    )
    assert login.status_code == 401
    assert (
        AuditLogEntry.objects.filter(action="account_anonymised", target_user=player).count() == 1
    )


def test_asking_signs_out_everywhere_and_logging_in_within_the_grace_period_keeps_the_account():
    player = funded_player(100)
    tokens = token_pair_for_user(player)

    request_deletion(player)
    old = APIClient()
    old.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    signed_out = old.get("/api/users/me").status_code
    login = APIClient().post(
        "/api/auth/login", {"site_id": player.site_id, "password": PASSWORD}, format="json"
    )
    with time_machine.travel(timezone.now() + timedelta(days=30), tick=False):
        anonymised = accounts_anonymise_due_task.delay().get()

    assert signed_out == 401
    assert login.status_code == 200
    assert login.json()["user"]["deletion_scheduled_for"] is None
    assert anonymised == 0
    player.refresh_from_db()
    assert (player.deletion_requested_at, player.anonymised_at, player.is_active) == (
        None,
        None,
        True,
    )


def test_the_account_page_states_the_grace_period_and_deletes_with_the_password(settings):
    settings.ACCOUNT_DELETION_GRACE_DAYS = 14
    player = funded_player(100)
    browser = Client()
    browser.force_login(player)

    page = browser.get("/account/")
    wrong = browser.post("/account/", {"action": "delete", "password": "nope"})
    done = browser.post("/account/", {"action": "delete", "password": PASSWORD})
    after = browser.get("/account/")

    assert page.status_code == 200
    assert "After 14 days your personal data" in page.content.decode()
    assert wrong.status_code == 400
    assert done.status_code == 200
    assert b'data-testid="deletion-scheduled"' in done.content
    assert after.status_code == 302  # signed out
    player.refresh_from_db()
    assert player.deletion_requested_at is not None


def test_the_account_and_reset_pages_are_in_korean(settings):
    settings.ACCOUNT_DELETION_GRACE_DAYS = 14
    browser = Client()
    browser.force_login(funded_player(100))

    account = browser.get("/account/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    reset = Client().get("/password-reset/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()

    assert "14일 후 개인정보" in account
    assert "내 데이터 내보내기" in account
    assert "비밀번호 재설정" in reset
