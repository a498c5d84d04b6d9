"""The daily streak claim is a hot route at the turn of the day: its statement count is pinned, so a
change that adds a query per claim shows up here."""

from __future__ import annotations

import pytest

from accounts.models import LedgerEntry, Wallet
from games.tests.factories import funded_player
from gamification.models import StreakClaim
from gamification.tests.factories import AchievementFactory, SeasonFactory

# A claim (docs/decisions/0141): 1. the idempotency lock and the stored-response lookup, 2. the
# wallet lock, 3. the streak state (created on first use and locked, one statement), 4. the reward
# table, 5. the claim row (a second claim of the day is refused by its unique key), 6. the streak
# state, 7. the credit (key check, entry, balance and its two messages in one statement), 8.-10.
# the player's counters (created on first use, locked, saved), 11. the level XP and 12. its
# message, 13. the battle-pass XP, 14. the streak_update message, 15. the achievements still
# locked and 16. an achievement_progress message, 17. the event-log row, 18. the stored response.
# The two more captured here are the savepoint and its release that stand for the request's
# BEGIN … COMMIT inside the test's transaction. The streak status and the balance of the response
# are the claim's own: not read again. (Counters, XP and achievements are still applied in the
# claim's transaction: moving them to the progression projection is docs/decisions/0141's open
# item.)
PINNED_STATEMENTS = 18 + 2


@pytest.mark.django_db
def test_a_streak_claim_runs_a_pinned_number_of_statements(client_for, django_assert_num_queries):
    # given a player with gold, a running season and an achievement still out of reach
    SeasonFactory()
    AchievementFactory(code="far_away", threshold=10**9)
    player = funded_player(1000)
    client = client_for(player)
    assert client.get("/api/streak/status").status_code == 200  # the cached auth state is warm

    # when the player claims today's reward
    with django_assert_num_queries(PINNED_STATEMENTS):
        response = client.post(
            "/api/streak/claim", {}, format="json", HTTP_IDEMPOTENCY_KEY="claim-query-count-0001"
        )

    # then the response shows the claim's own status and the balance after its credit
    assert response.status_code == 200
    body = response.json()
    claim = StreakClaim.objects.get(user=player)
    credit = LedgerEntry.objects.get(wallet_id=player.pk, reason="streak_reward")
    assert (body["streak_day"], body["reward_gold"]) == (claim.streak_day, claim.reward_gold)
    assert credit.delta == claim.reward_gold
    assert body["balance"] == credit.balance_after == Wallet.objects.get(pk=player.pk).balance
    assert body["status"]["current_streak"] == 1
    assert body["status"]["claimed_today"] is True
