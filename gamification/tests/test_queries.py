"""The daily streak and VIP claims are hot routes at the turn of the day: their statement counts
are pinned, so a change that adds a query per claim shows up here."""

from __future__ import annotations

import pytest

from accounts.models import LedgerEntry, User, Wallet
from casinoclub.tests.projection_helpers import caught_up
from games.tests.factories import funded_player
from gamification.models import AchievementUnlock, PlayerProgress, StreakClaim, VipClaim
from gamification.tests.factories import AchievementFactory, SeasonFactory

# steady state: the maintenance flag already cached, as on a running site
pytestmark = pytest.mark.usefixtures("maintenance_flag_cached")

# A streak claim (docs/decisions/0141, 0152): 1. the idempotency lock and the stored-response
# lookup, 2. the wallet lock, 3. the streak state (created on first use and locked, one
# statement), 4. the reward table, 5. the claim row (a second claim of the day is refused by its
# unique key), 6. the streak state, 7. the credit (key check, entry, balance and its two messages
# in one statement), 8. the streak_update message, 9. the event-log row (`reward_claimed` with
# the streak day and the XP), 10. the stored response. The two more captured here are the
# savepoint and its release that stand for the request's BEGIN … COMMIT inside the test's
# transaction. The streak status and the balance of the response are the claim's own: not read
# again. The best-streak counter, the XP (level and battle pass) and the achievements are the
# progression projection's, applied from the event after the commit.
PINNED_STREAK_STATEMENTS = 10 + 2

# A VIP claim: 1. the idempotency lock and the stored-response lookup, 2. the wallet lock, 3. the
# rank, 4. the claim row (a second claim of the day is refused by its unique key, before any
# change), 5. the credit of the rank's gold (key check, entry, balance and its two messages in one
# statement), 6.-8. the VIP points (user row locked, saved, its profile_update message), 9. the
# event-log row (`reward_claimed` with the XP), 10. the stored response. Plus the request's
# savepoint pair, as above. The response's status and balance are the claim's own: not read
# again. The XP (level and battle pass) is the progression projection's.
PINNED_VIP_STATEMENTS = 10 + 2


@pytest.mark.django_db
def test_a_streak_claim_runs_a_pinned_number_of_statements(client_for, django_assert_num_queries):
    # given a player with gold, a running season and an achievement still out of reach
    SeasonFactory()
    AchievementFactory(code="far_away", threshold=10**9)
    player = funded_player(1000)
    client = client_for(player)
    assert client.get("/api/streak/status").status_code == 200  # the cached auth state is warm

    # when the player claims today's reward
    with django_assert_num_queries(PINNED_STREAK_STATEMENTS):
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
    # and the progression follows once the projection has applied the claim's event
    assert PlayerProgress.objects.filter(user=player).count() == 0
    assert User.objects.get(pk=player.pk).experience == 0
    caught_up()
    assert PlayerProgress.objects.get(user=player).best_streak_days == 1
    assert User.objects.get(pk=player.pk).experience == body["xp"] == 20
    assert AchievementUnlock.objects.filter(user=player).count() == 0


@pytest.mark.django_db
def test_a_vip_claim_runs_a_pinned_number_of_statements(client_for, django_assert_num_queries):
    # given a VIP player (points and gold every day) and a running season
    SeasonFactory()
    player = funded_player(0, rank="VIP")
    client = client_for(player)
    assert client.get("/api/vip/status").status_code == 200  # the cached auth state is warm

    # when the player claims today's VIP reward
    with django_assert_num_queries(PINNED_VIP_STATEMENTS):
        response = client.post(
            "/api/vip/claim", {}, format="json", HTTP_IDEMPOTENCY_KEY="vip-query-count-00001"
        )

    # then the claim paid its gold and points; its XP waits for the projection
    assert response.status_code == 200
    body = response.json()
    claim = VipClaim.objects.get(user=player)
    assert (body["points"], body["reward_gold"]) == (claim.points, claim.reward_gold) == (30, 300)
    assert body["balance"] == 300 == Wallet.objects.get(pk=player.pk).balance
    # and the status it shows without reading again is the one a fresh read gives
    assert body["status"] == client.get("/api/vip/status").json()
    assert body["status"]["claimed_today"] is True
    assert User.objects.get(pk=player.pk).experience == 0
    caught_up()
    assert User.objects.get(pk=player.pk).experience == body["xp"] == 10
