"""Helpers shared by the events tests: API calls and before/after snapshots."""

import itertools

from rest_framework.test import APIClient

from accounts.models import LedgerEntry, User, Wallet
from accounts.tokens import token_pair_for_user
from casinoclub.realtime.models import RealtimeMessage
from casinoclub.tests.projection_helpers import caught_up

_keys = (f"events-key-{n:08d}" for n in itertools.count())


def next_key() -> str:
    return next(_keys)


def client_of(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(user)['access']}")
    return client


def post(client, path, body=None, key=None):
    """POST, then let the projection workers catch up (the after-commit task does in production)."""
    response = client.post(path, body or {}, format="json", HTTP_IDEMPOTENCY_KEY=key or next_key())
    caught_up()
    return response


def spin(client, bet=10):
    response = post(client, "/api/games/slot/spin", {"bet": bet})
    assert response.status_code == 200, response.content
    return response.json()["round"]


def play_rps(client, bet=10):
    response = post(client, "/api/games/rps/play", {"bet": bet, "choice": "rock"})
    assert response.status_code == 200, response.content
    return response.json()["round"]


def balance(user) -> int:
    return Wallet.objects.get(pk=user.pk).balance


def experience(user) -> tuple[int, int]:
    user = User.objects.get(pk=user.pk)
    return user.level, user.experience


def ledger_count(user) -> int:
    return LedgerEntry.objects.filter(wallet_id=user.pk).count()


def progress_messages(user) -> list[dict]:
    """``event_progress`` messages, and the mission/event progress a projection batch folded into
    ``progress_update`` in the same shape (``kind`` "progress")."""
    messages = []
    for message_type, data in (
        RealtimeMessage.objects.filter(user=user, type__in=["event_progress", "progress_update"])
        .order_by("seq")
        .values_list("type", "data")
    ):
        if message_type == "event_progress":
            messages.append(data)
        elif data.get("missions") or data.get("events"):
            items = data.get("missions", []) + data.get("events", [])
            messages.append({"kind": "progress", "items": items})
    return messages
