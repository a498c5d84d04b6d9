"""The free-gold refill: under the threshold, once per interval, through the ledger, once under
concurrency (real threads on PostgreSQL)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import LedgerEntry, LedgerReason, RefillClaim, Wallet
from accounts.services import wallet_credit, wallet_open
from accounts.tests.factories import UserFactory
from accounts.tests.test_races import run_together
from accounts.tokens import token_pair_for_user

_keys = (f"refill-key-{n:06d}" for n in itertools.count())


@pytest.fixture(autouse=True)
def _refill_settings(settings):  # type: ignore[no-untyped-def]
    settings.REFILL_THRESHOLD_GOLD = 100
    settings.REFILL_AMOUNT_GOLD = 500
    settings.REFILL_INTERVAL_HOURS = 4


def player_with(gold: int):  # type: ignore[no-untyped-def]
    user = UserFactory()
    wallet_open(user)
    if gold:
        wallet_credit(
            user.pk, gold, reason=LedgerReason.STAFF_GRANT, reference="t", idempotency_key="fund"
        )
    return user


def client_of(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(user)['access']}")
    return client


def claim(client, key=None):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/users/me/refill", {}, format="json", HTTP_IDEMPOTENCY_KEY=key or next(_keys)
    )


def refills(user) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    return list(
        LedgerEntry.objects.filter(wallet_id=user.pk, reason=LedgerReason.FREE_REFILL).values_list(
            "delta", "reference"
        )
    )


@pytest.mark.django_db
def test_a_player_under_the_threshold_claims_the_refill_through_the_ledger():
    player = player_with(40)
    client = client_of(player)

    response = claim(client, "refill-first-0001")
    replay = claim(client, "refill-first-0001")

    assert response.status_code == 200
    body = response.json()
    assert (body["amount"], body["balance"]) == (500, 540)
    assert replay.content == response.content
    assert replay["Idempotent-Replayed"] == "true"
    assert refills(player) == [(500, "refill:after:0")]
    assert Wallet.objects.get(pk=player.pk).balance == 540
    claim_row = RefillClaim.objects.get(user=player)
    assert (claim_row.amount, claim_row.balance_before) == (500, 40)
    assert body["ledger_entry_id"] == claim_row.ledger_entry_id


@pytest.mark.django_db
def test_a_player_at_or_over_the_threshold_is_refused_and_nothing_changes():
    player = player_with(100)

    response = claim(client_of(player))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "refill_over_threshold"
    assert refills(player) == []
    assert RefillClaim.objects.count() == 0
    assert Wallet.objects.get(pk=player.pk).balance == 100


@pytest.mark.django_db
def test_a_second_claim_within_the_interval_is_refused_with_the_next_time(settings):
    settings.REFILL_THRESHOLD_GOLD = 10_000  # still under it after the first refill
    player = player_with(0)
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        first = claim(client_of(player))
    with time_machine.travel(start + timedelta(hours=3, minutes=59), tick=False):
        client = client_of(player)  # a token minted at the travelled time
        too_soon = claim(client)
        status = client.get("/api/users/me/refill").json()
    with time_machine.travel(start + timedelta(hours=4, seconds=1), tick=False):
        later = claim(client_of(player))

    assert first.status_code == 200
    assert too_soon.status_code == 409
    assert too_soon.json()["error"]["code"] == "refill_too_soon"
    next_at = (start + timedelta(hours=4)).isoformat()
    assert too_soon.json()["error"]["details"] == {"next_available_at": next_at}
    assert status["available"] is False
    assert later.status_code == 200
    assert later.json()["balance"] == 1000
    assert len(refills(player)) == 2


@pytest.mark.django_db
def test_the_status_says_when_a_refill_is_available():
    player = player_with(10)
    client = client_of(player)

    before = client.get("/api/users/me/refill").json()
    claim(client)
    after = client.get("/api/users/me/refill").json()

    assert before == {
        "available": True,
        "balance": 10,
        "threshold": 100,
        "amount": 500,
        "interval_hours": 4,
        "next_available_at": None,
    }
    assert after["available"] is False
    assert after["balance"] == 510
    assert after["next_available_at"] is not None


@pytest.mark.django_db
def test_the_refill_needs_an_idempotency_key():
    player = player_with(0)

    response = client_of(player).post("/api/users/me/refill", {}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"
    assert refills(player) == []


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_claims_with_different_keys_pay_once():
    player = player_with(0)
    token = token_pair_for_user(player)["access"]

    def race(index: int) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return claim(client, f"refill-race-{index:04d}").status_code

    statuses = run_together(10, race)

    assert sorted(statuses) == [200] + [409] * 9
    assert refills(player) == [(500, "refill:after:0")]
    assert RefillClaim.objects.filter(user=player).count() == 1
    assert Wallet.objects.get(pk=player.pk).balance == 500
