"""The slot spin is the hottest route: its statement count is pinned, so a change that adds a
query per spin shows up here (bench/profile_spin.py measures the same on a seeded database)."""

from __future__ import annotations

import pytest

from games import engine
from games.models import FairSeed, Game
from games.selectors import engine_config, game_config_current
from games.tests.factories import funded_player
from gamification.tests.factories import AchievementFactory, SeasonFactory

# advisory lock + replay lookup + response store, config, play block, daily count,
# nonce, debit (key check, wallet, ledger, message), round insert + settle, round message, the
# event-log row, the response balance; plus the savepoints of the service boundaries. Stats,
# leaderboards, XP, season XP, achievements, missions, events and the play session are
# projections of the event log, applied after commit (casinoclub/projections.py): none of them
# is a statement of the spin. No user row: authentication reads the player's cached state
# (docs/decisions/0150).
PINNED_STATEMENTS = 22


@pytest.mark.django_db
def test_a_slot_spin_runs_a_pinned_number_of_statements(client_for, django_assert_num_queries):
    # given a player with gold, a running season and an achievement still out of reach
    SeasonFactory()
    AchievementFactory(code="far_away", threshold=10**9)
    player = funded_player(10_000)
    client = client_for(player)
    first = client.post(
        "/api/games/slot/spin",
        {"bet": 10},
        format="json",
        HTTP_IDEMPOTENCY_KEY="spin-query-count-0001",
    )
    assert first.status_code == 200

    # and the next spin loses (a win pays through the ledger: more statements), by the client seed
    seed = FairSeed.objects.get(user=player, is_active=True)
    config = engine_config(game_config_current(Game.SLOT))
    for attempt in range(100):
        client_seed = f"losing-seed-{attempt}"
        rng = engine.FairRng(bytes(seed.server_seed), client_seed, seed.nonce)
        if engine.slot_spin(config, rng).multiplier_x100 == 0:
            FairSeed.objects.filter(pk=seed.pk).update(client_seed=client_seed)
            break

    # when the player spins again (nothing created on first use any more)
    with django_assert_num_queries(PINNED_STATEMENTS):
        response = client.post(
            "/api/games/slot/spin",
            {"bet": 10},
            format="json",
            HTTP_IDEMPOTENCY_KEY="spin-query-count-0002",
        )

    # then
    assert response.status_code == 200
    assert response.json()["round"]["payout"] == 0
