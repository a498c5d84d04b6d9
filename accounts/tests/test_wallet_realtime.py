"""Every ledger change reaches the player's sockets: stored with the change, sent after commit."""

import pytest
from django.db import transaction
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from accounts import services
from accounts.exceptions import InsufficientFunds
from accounts.models import LedgerEntry, LedgerReason
from accounts.roles import ECONOMY
from accounts.tests.factories import UserFactory, staff_member
from accounts.tokens import token_pair_for_user
from casinoclub.realtime.models import RealtimeMessage
from casinoclub.realtime.tests.helpers import (
    TIMEOUT,
    access_token,
    async_test,
    db,
    open_synced_socket,
)


def stored(user):
    return list(
        RealtimeMessage.objects.filter(user=user).order_by("seq").values_list("type", "data")
    )


def ledger_total(reason: str) -> float:
    return REGISTRY.get_sample_value("ledger_entries_total", {"reason": reason}) or 0.0


@pytest.mark.django_db
def test_credit_stores_profile_update_and_reward_granted_and_debit_only_profile_update():
    user = UserFactory()
    services.wallet_open(user)

    credit = services.wallet_credit(
        user.pk, 40, reason=LedgerReason.STAFF_GRANT, reference="t", idempotency_key="c"
    )
    debit = services.wallet_debit(
        user.pk, 15, reason=LedgerReason.STAFF_REVOKE, reference="t", idempotency_key="d"
    )

    assert stored(user) == [
        (
            "profile_update",
            {
                "gold": 40,
                "delta": 40,
                "reason": "staff_grant",
                "reference": "t",
                "ledger_entry_id": credit.pk,
            },
        ),
        (
            "reward_granted",
            {
                "gold": 40,
                "balance": 40,
                "reason": "staff_grant",
                "reference": "t",
                "ledger_entry_id": credit.pk,
            },
        ),
        (
            "profile_update",
            {
                "gold": 25,
                "delta": -15,
                "reason": "staff_revoke",
                "reference": "t",
                "ledger_entry_id": debit.pk,
            },
        ),
    ]


@transaction.atomic
def credit_then_fail(user):
    services.wallet_credit(
        user.pk, 5, reason=LedgerReason.STAFF_GRANT, reference="t", idempotency_key="c"
    )
    raise RuntimeError("the caller's transaction fails after the credit")


@pytest.mark.django_db
def test_refused_or_rolled_back_changes_store_no_message():
    user = UserFactory()
    services.wallet_open(user)

    with pytest.raises(InsufficientFunds):
        services.wallet_debit(
            user.pk, 1, reason=LedgerReason.STAFF_REVOKE, reference="t", idempotency_key="d"
        )
    with pytest.raises(RuntimeError):
        credit_then_fail(user)

    assert stored(user) == []
    assert not LedgerEntry.objects.filter(wallet_id=user.pk).exists()


@pytest.mark.django_db
def test_replayed_idempotency_key_sends_nothing_twice():
    user = UserFactory()
    services.wallet_open(user)

    for _ in range(3):
        services.wallet_credit(
            user.pk, 5, reason=LedgerReason.STAFF_GRANT, reference="t", idempotency_key="once"
        )

    assert [message_type for message_type, _ in stored(user)] == [
        "profile_update",
        "reward_granted",
    ]


@pytest.mark.django_db
def test_ledger_entries_are_counted_by_reason_after_commit(django_capture_on_commit_callbacks):
    user = UserFactory()
    services.wallet_open(user)
    before = ledger_total("staff_grant")

    with django_capture_on_commit_callbacks(execute=True):
        services.wallet_credit(
            user.pk, 5, reason=LedgerReason.STAFF_GRANT, reference="t", idempotency_key="m"
        )

    assert ledger_total("staff_grant") == before + 1


@pytest.mark.django_db(transaction=True)
@async_test
async def test_staff_grant_over_http_reaches_the_players_open_socket():
    player = await db(UserFactory)()
    staff = await db(staff_member)(ECONOMY)
    await db(services.wallet_open)(player)
    socket, _ = await open_synced_socket(await db(access_token)(player))

    def grant():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(staff)['access']}")
        return client.post(
            f"/api/admin/users/{player.pk}/gold",
            {"amount": 75, "reason": "tournament prize"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="prize-000001",
        )

    response = await db(grant)()
    profile = await socket.receive_json_from(timeout=TIMEOUT)
    reward = await socket.receive_json_from(timeout=TIMEOUT)
    await socket.disconnect()

    assert response.status_code == 200
    assert (profile["type"], profile["data"]["gold"], profile["seq"]) == ("profile_update", 75, 1)
    assert (reward["type"], reward["data"]["gold"], reward["seq"]) == ("reward_granted", 75, 2)
    assert profile["user_id"] == player.pk
