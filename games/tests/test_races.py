"""Concurrent rounds of one player, forced on PostgreSQL with real threads."""

import itertools

import pytest
from rest_framework.test import APIClient

from accounts.models import LedgerEntry, Wallet
from accounts.selectors import ledger_violations
from accounts.tests.test_races import run_together
from accounts.tokens import token_pair_for_user
from games.defaults import default_engine
from games.models import FairSeed, GameConfig, GameRound
from games.tests.factories import funded_player
from games.tests.test_seed_rotation import tool_outcome

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


def test_concurrent_crash_bets_cashouts_and_rotations_never_reveal_an_open_rounds_seed():
    # given one player whose crash bets, cash-outs and seed rotations race on the same seed row
    player = funded_player(1_000_000)
    GameConfig.objects.create(
        game="crash",
        version=1,
        engine=default_engine("crash"),
        daily_limits={"STANDARD": 0, "PREMIUM": 0, "VIP": 0},  # unlimited: the race is the point
    )
    token = token_pair_for_user(player)["access"]
    threads, steps = 10, 10
    operations = ("bet", "cashout", "rotate")

    def act(index: int) -> list[tuple[str, int, dict]]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        done = []
        for step in range(steps):
            operation = operations[(index + step) % len(operations)]
            if operation == "bet":
                response = client.post(
                    "/api/games/crash/bet",
                    {"bet": 10},
                    format="json",
                    HTTP_IDEMPOTENCY_KEY=f"race-bet-{index:02d}-{step:02d}",
                )
            elif operation == "cashout":
                open_id = (
                    GameRound.objects.filter(user=player, game="crash", state="open")
                    .values_list("pk", flat=True)
                    .first()
                )
                if open_id is None:
                    continue
                response = client.post(
                    "/api/games/crash/cashout",
                    {"round_id": open_id},
                    format="json",
                    HTTP_IDEMPOTENCY_KEY=f"race-cashout-{index:02d}-{step:02d}",
                )
            else:
                response = client.post("/api/games/fairness/rotate", {}, format="json")
            done.append((operation, response.status_code, response.json()))
        return done

    # when 100 bets, cash-outs and rotations run from 10 threads at once
    results = [result for done in run_together(threads, act) for result in done]

    # then every rotation either revealed a seed none of whose rounds was open at that moment...
    rotations = [(status, body) for operation, status, body in results if operation == "rotate"]
    revealed = [body["previous"] for status, body in rotations if status == 200]
    refused = [body for status, body in rotations if status == 409]
    checked_rounds = 0
    for previous in revealed:
        seed = FairSeed.objects.get(user=player, server_seed_hash=previous["server_seed_hash"])
        assert seed.revealed_at is not None
        assert not seed.is_active
        assert previous["server_seed"] == bytes(seed.server_seed).hex()
        for round_ in GameRound.objects.filter(fair_seed=seed).select_related("config"):
            assert round_.state == "settled", round_.pk
            assert round_.settled_at is not None
            assert round_.settled_at <= seed.revealed_at, round_.pk
            outcome = tool_outcome(round_, previous["server_seed"], previous["client_seed"])
            assert outcome["crash_x100"] == round_.outcome["crash_x100"]
            assert outcome.get("multiplier_x100", 0) == round_.multiplier_x100
            checked_rounds += 1
    # ...or was refused with the open round's id and nothing of the seed (never a 500)
    assert len(revealed) + len(refused) == len(rotations)
    for body in refused:
        assert body["error"]["code"] == "round_open"
        assert GameRound.objects.filter(
            pk=body["error"]["details"]["round_id"], user=player, game="crash"
        ).exists()
        assert "previous" not in body
    # a round still open now was drawn from the one seed never revealed
    active = FairSeed.objects.get(user=player, is_active=True)
    assert active.revealed_at is None
    assert set(
        GameRound.objects.filter(user=player, state="open").values_list("fair_seed_id", flat=True)
    ) <= {active.pk}
    # the race really happened: bets opened rounds, rotations were both refused and allowed
    bets = [status for operation, status, _ in results if operation == "bet"]
    assert bets.count(200) >= 2
    assert set(bets) <= {200, 409}
    assert refused
    assert revealed
    assert checked_rounds >= 1
    assert GameRound.objects.filter(user=player).count() == bets.count(200)
    assert ledger_violations() == []
