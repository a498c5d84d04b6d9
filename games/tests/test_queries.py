"""The slot spin is the hottest route: its statement count is pinned, so a change that adds a
query per spin shows up here (bench/profile_spin.py measures the same on a seeded database)."""

from __future__ import annotations

import pytest

from accounts.models import LedgerEntry
from casinoclub.models import IdempotencyRecord
from casinoclub.realtime.models import RealtimeMessage
from games import engine
from games.models import FairSeed, Game
from games.selectors import engine_config, game_config_current
from games.tests.factories import funded_player
from gamification.tests.factories import AchievementFactory, SeasonFactory

# steady state: the maintenance flag already cached, as on a running site
pytestmark = pytest.mark.usefixtures("maintenance_flag_cached")

# A spin, win or lose, is three statements (docs/decisions/0141):
# 1. the idempotency lock and the stored-response lookup;
# 2. the configuration (bet range, the rank's daily limit), the play block, the daily count, the
#    nonce and the round's id;
# 3. (the outcome is drawn in Python) the wallet's lock, the stake's and the payout's ledger
#    entries, the balance, the round row, its event-log row, its two socket messages and the
#    stored response with the new balance (``idempotent_response_row``).
# The two more captured here are the savepoint and its release that stand for the request's
# BEGIN … COMMIT inside the test's transaction. No user row: authentication reads the player's
# cached state (docs/decisions/0150). Stats, leaderboards, XP, achievements, missions, events and
# the play session are projections of the event log, applied after commit.
PINNED_STATEMENTS = 3 + 2


def _next_spin_will(player, *, win: bool) -> None:
    """Choose the client seed so that the player's next spin wins or loses."""
    seed = FairSeed.objects.get(user=player, is_active=True)
    config = engine_config(game_config_current(Game.SLOT))
    for attempt in range(1000):
        client_seed = f"chosen-seed-{attempt}"
        rng = engine.FairRng(bytes(seed.server_seed), client_seed, seed.nonce)
        if (engine.slot_spin(config, rng).multiplier_x100 > 0) == win:
            FairSeed.objects.filter(pk=seed.pk).update(client_seed=client_seed)
            return
    raise AssertionError("no client seed found")


@pytest.mark.django_db
@pytest.mark.parametrize("win", [False, True], ids=["lose", "win"])
def test_a_slot_spin_runs_a_pinned_number_of_statements(client_for, django_assert_num_queries, win):
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
    # and the next spin wins or loses, by the client seed
    _next_spin_will(player, win=win)
    balance_before = first.json()["balance"]
    last_seq = RealtimeMessage.objects.filter(user=player).order_by("-seq")[0].seq

    # when the player spins again (nothing created on first use any more)
    with django_assert_num_queries(PINNED_STATEMENTS):
        response = client.post(
            "/api/games/slot/spin",
            {"bet": 10},
            format="json",
            HTTP_IDEMPOTENCY_KEY="spin-query-count-0002",
        )

    # then the spin paid what it shows, and stored two socket messages: the final balance, then
    # the round
    assert response.status_code == 200
    body = response.json()
    payout = body["round"]["payout"]
    # and the response it stored is the one it answered, byte for byte, with the new balance
    stored = IdempotencyRecord.objects.get(user=player, key="spin-query-count-0002")
    assert (stored.status_code, bytes(stored.body)) == (200, response.content)
    assert (payout > 0) == win
    assert body["balance"] == balance_before - 10 + payout
    entries = list(
        LedgerEntry.objects.filter(wallet_id=player.pk).order_by("-id")[: 2 if win else 1]
    )
    assert [entry.balance_after for entry in reversed(entries)] == (
        [balance_before - 10, balance_before - 10 + payout] if win else [balance_before - 10]
    )
    messages = list(
        RealtimeMessage.objects.filter(user=player, seq__gt=last_seq)
        .order_by("seq")
        .values_list("seq", "type", "data")
    )
    assert [(seq, message_type) for seq, message_type, _ in messages] == [
        (last_seq + 1, "profile_update"),
        (last_seq + 2, "game_event"),
    ]
    assert messages[0][2] == {
        "gold": balance_before - 10 + payout,
        "delta": payout - 10,
        "reason": "game_win" if win else "game_bet",
        "reference": f"round:{body['round']['id']}" if win else entries[0].reference,
        "ledger_entry_id": entries[0].pk,
    }
    assert messages[1][2] == {"event": "round_settled", "round": body["round"]}
