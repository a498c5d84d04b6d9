"""Concurrent rounds of one player, forced on PostgreSQL with real threads."""

import itertools

import pytest
from rest_framework.test import APIClient

from accounts.models import LedgerEntry, Wallet
from accounts.selectors import ledger_violations
from accounts.tests.test_races import run_together
from accounts.tokens import token_pair_for_user
from games.models import FairSeed, GameRound
from games.tests.factories import funded_player

pytestmark = pytest.mark.django_db(transaction=True)


def spin(token: str, key: str, bet: int = 10):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.post(
        "/api/games/slot/spin", {"bet": bet}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )


def test_concurrent_spins_respect_the_daily_limit_and_use_each_nonce_once():
    player = funded_player(100_000)  # STANDARD: 30 spins a day
    token = token_pair_for_user(player)["access"]

    statuses = run_together(40, lambda index: spin(token, f"race-spin-{index:04d}").status_code)

    assert sorted(statuses) == [200] * 30 + [429] * 10
    rounds = GameRound.objects.filter(user=player)
    assert rounds.count() == 30
    assert sorted(rounds.values_list("nonce", flat=True)) == list(range(30))
    assert FairSeed.objects.get(user=player, is_active=True).nonce == 30
    assert ledger_violations() == []


def test_concurrent_spins_never_overdraw():
    player = funded_player(100)
    token = token_pair_for_user(player)["access"]
    counter = itertools.count()

    results = run_together(
        20, lambda index: spin(token, f"broke-{next(counter):04d}", bet=50).status_code
    )

    assert set(results) <= {200, 409}
    balance = Wallet.objects.get(pk=player.pk).balance
    assert balance >= 0
    assert balance == sum(
        LedgerEntry.objects.filter(wallet_id=player.pk).values_list("delta", flat=True)
    )
    assert GameRound.objects.filter(user=player).count() == results.count(200)
    assert ledger_violations() == []
