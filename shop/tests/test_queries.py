"""The gold-pack buy (simulated gateway) is a hot route: its statement count is pinned, so a change
that adds a query per buy shows up here."""

from __future__ import annotations

import pytest

from accounts.models import LedgerEntry
from games.tests.factories import funded_player
from shop.tests.factories import GoldPackFactory

# The count of the second buy of a player (nothing created on first use any more), on the simulated
# gateway's immediate success: the reserve step and the charge step with their idempotency records,
# wallet lock, purchase, ledger credit, the event-log row and messages (VIP points and purchase
# counters are projections of the event log, after commit). No user row: authentication reads
# the player's cached state (docs/decisions/0150-auth-state-cache.md).
PINNED_STATEMENTS = 42


@pytest.mark.django_db
def test_a_gold_pack_buy_runs_a_pinned_number_of_statements(client_for, django_assert_num_queries):
    # given a player who has bought once already
    GoldPackFactory(code="pack", gold_amount=5000, price_cents=4900)
    player = funded_player(1000)
    client = client_for(player)
    first = client.post(
        "/api/shop/buy",
        {"product_code": "pack"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="buy-query-count-0001",
    )
    assert first.json()["purchase"]["status"] == "success"

    # when the player buys again
    with django_assert_num_queries(PINNED_STATEMENTS):
        response = client.post(
            "/api/shop/buy",
            {"product_code": "pack"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="buy-query-count-0002",
        )

    # then
    assert response.status_code == 200
    assert response.json()["purchase"]["status"] == "success"
    assert LedgerEntry.objects.filter(wallet_id=player.pk, reason="purchase_credit").count() == 2
