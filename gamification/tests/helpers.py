"""Helpers shared by the progression tests."""

import itertools

from rest_framework.test import APIClient

from accounts.models import LedgerEntry, Wallet
from accounts.tokens import token_pair_for_user
from casinoclub.tests.projection_helpers import caught_up

_keys = (f"gam-key-{n:08d}" for n in itertools.count())


def client_of(user) -> APIClient:
    """A client with a token minted now (inside time-machine, at the travelled time)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(user)['access']}")
    return client


def post(client, path, body=None, key=None):
    """POST, then let the projection workers catch up (the after-commit task does in production)."""
    response = client.post(path, body or {}, format="json", HTTP_IDEMPOTENCY_KEY=key or next(_keys))
    caught_up()
    return response


def balance(user) -> int:
    return Wallet.objects.get(pk=user.pk).balance


def ledger(user, reason=None) -> list[tuple[int, str]]:
    entries = LedgerEntry.objects.filter(wallet_id=user.pk).order_by("id")
    if reason:
        entries = entries.filter(reason=reason)
    return list(entries.values_list("delta", "reason"))
