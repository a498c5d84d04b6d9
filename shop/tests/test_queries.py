"""The gold-pack buy (simulated gateway) is a hot route: its statement count is pinned, so a change
that adds a query per buy shows up here."""

from __future__ import annotations

import pytest

from accounts.models import LedgerEntry
from games.tests.factories import funded_player
from shop.tests.factories import GoldPackFactory

# steady state: the maintenance flag already cached, as on a running site
pytestmark = pytest.mark.usefixtures("maintenance_flag_cached")

# The second buy of a player (nothing created on first use any more), on the simulated gateway's
# immediate success (docs/decisions/0141):
# reserve transaction: 1. the idempotency lock and the stored-response lookup, 2. the wallet lock,
#   3. whether an earlier attempt made the purchase (none: its product is read only for a retry),
#   4. the product, 5. today's spend, 6. the responsible-play row (block and limit), 7. the
#   purchase row (with its gateway), 8. its purchase_update message;
# charge: 9. the provider's reference (the reserved purchase is not read again);
# settle transaction: 10. the wallet lock, 11. the purchase with its product, 12. the credit
#   (key check, entry, balance and its two messages in one statement), 13. the event-log row,
#   14. the purchase's status, 15. its purchase_update message;
# 16. the stored response (on its own, no transaction around it).
# The four more captured here are the savepoints and releases that stand for the two
# transactions' BEGIN … COMMIT inside the test's transaction. VIP points and purchase counters are
# projections of the event log, after commit. No user row: authentication reads the player's
# cached state (docs/decisions/0150-auth-state-cache.md); no wallet read for the response.
PINNED_STATEMENTS = 16 + 4


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
