"""The shared crash round under concurrency, forced on PostgreSQL with real threads."""

import itertools
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import LedgerEntry, Wallet
from accounts.selectors import ledger_violations
from accounts.tests.test_races import run_together
from accounts.tokens import token_pair_for_user
from casinoclub.models import DomainEvent
from games import engine, services
from games.models import CrashPhase, CrashRound, GameRound
from games.tests.crash_helpers import chain_where_first_round
from games.tests.factories import funded_player

pytestmark = pytest.mark.django_db(transaction=True)
CRASH = engine.DEFAULT_CRASH_CONFIG
keys = (f"crash-race-{n:08d}" for n in itertools.count())


def api(token: str, path: str, body: dict):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=next(keys))


def _settled_once(round_: CrashRound) -> None:
    """Every bet of the round is settled, has exactly one event, and its win entry (if any)
    equals its payout; the ledger is clean."""
    bets = list(GameRound.objects.filter(crash_round=round_))
    assert {bet.state for bet in bets} == {"settled"}
    events = [
        e.payload["round_id"]
        for e in DomainEvent.objects.filter(type="round_settled")
        if e.payload["game"] == "crash"
    ]
    assert sorted(events) == sorted(bet.pk for bet in bets)
    for bet in bets:
        wins = LedgerEntry.objects.filter(wallet_id=bet.user_id, idempotency_key=f"win:{bet.pk}")
        assert [entry.delta for entry in wins] == ([bet.payout] if bet.payout else [])
    assert ledger_violations() == []


def test_two_hundred_players_bet_and_cash_out_in_one_round_and_every_bet_settles_once(settings):
    # given a round whose crash point is at least 10x (it runs for 38 s), with a long window
    settings.CRASH_BETTING_SECONDS = 600
    chain_where_first_round(lambda crash: crash >= 1000)
    services.crash_loop_step()
    round_ = CrashRound.objects.get()
    players = [funded_player(1000) for _ in range(200)]
    tokens = [token_pair_for_user(p)["access"] for p in players]

    # when 200 players bet at once: a quarter with an auto cash-out at 2x
    def bet(index: int):
        body = {"bet": 100, **({"auto_cashout": 2} if index % 4 == 0 else {})}
        return api(tokens[index], "/api/games/crash/bet", body)

    placed = run_together(200, bet)
    assert [response.status_code for response in placed] == [200] * 200
    round_.refresh_from_db()
    assert (round_.bets_count, round_.exposure) == (200, 50 * 200 + 150 * 100 * 10_000)

    # and the round starts, and half of the others cash out at once while it runs
    services.crash_loop_step(now=timezone.now() - timedelta(seconds=1))
    services.crash_loop_step(now=round_.betting_ends_at)
    round_.refresh_from_db()
    assert round_.phase == CrashPhase.RUNNING

    def cash_out(index: int):
        return api(
            tokens[index],
            "/api/games/crash/cashout",
            {"round_id": placed[index].json()["round"]["id"]},
        )

    cashing = [index for index in range(200) if index % 4 != 0][:100]
    results = run_together(len(cashing), lambda n: cash_out(cashing[n]))
    assert [response.status_code for response in results] == [200] * 100

    # and the loop busts it at its committed time
    services.crash_loop_step(now=round_.bust_at)

    # then every bet settled once: cash-outs at their multiplier, autos at 2x, the rest lost
    _settled_once(round_)
    bets = {bet.user_id: bet for bet in GameRound.objects.filter(crash_round=round_)}
    for index, player in enumerate(players):
        bet = bets[player.pk]
        if index % 4 == 0:
            assert (bet.multiplier_x100, bet.payout) == (200, 200)
        elif index in cashing:
            response = results[cashing.index(index)].json()["round"]
            assert bet.payout == response["payout"] > 0
            assert 100 <= bet.multiplier_x100 < round_.crash_x100
        else:
            assert bet.payout == 0
        assert Wallet.objects.get(pk=player.pk).balance == 900 + bet.payout


def test_concurrent_bets_of_one_player_take_one_stake():
    chain_where_first_round(lambda crash: crash >= 101)
    services.crash_loop_step()
    player = funded_player(1000)
    token = token_pair_for_user(player)["access"]

    results = run_together(8, lambda _: api(token, "/api/games/crash/bet", {"bet": 100}))

    codes = sorted((r.status_code, r.json().get("error", {}).get("code", "")) for r in results)
    assert codes == [(200, "")] + [(409, "already_bet")] * 7
    assert Wallet.objects.get(pk=player.pk).balance == 900
    assert GameRound.objects.filter(user=player).count() == 1
    assert ledger_violations() == []


def test_cash_outs_racing_the_bust_are_paid_only_before_it_and_never_after():
    # given 30 players in a round that busts 1.5 s from now (real clock)
    chain_where_first_round(lambda crash: 150 <= crash <= 400)
    services.crash_loop_step()
    round_ = CrashRound.objects.get()
    players = [funded_player(1000) for _ in range(30)]
    tokens = [token_pair_for_user(p)["access"] for p in players]
    bet_ids = [
        api(token, "/api/games/crash/bet", {"bet": 100}).json()["round"]["id"] for token in tokens
    ]
    bust_ms = engine.crash_bust_ms(CRASH, round_.crash_x100)
    services.crash_loop_step(
        now=max(round_.betting_ends_at, timezone.now() + timedelta(milliseconds=1500 - bust_ms))
    )
    round_.refresh_from_db()
    bust_at = round_.bust_at
    offsets = [(-600 + (index * 37) % 700) / 1000 for index in range(30)]  # -600 to +99 ms

    # when each cashes out around the bust moment while the loop busts the round
    def act(index: int):
        if index == 30:  # the loop
            time.sleep(max(0.0, (bust_at - timezone.now()).total_seconds()))
            services.crash_loop_step()
            return "bust"
        time.sleep(max(0.0, (bust_at - timezone.now()).total_seconds() + offsets[index]))
        return api(tokens[index], "/api/games/crash/cashout", {"round_id": bet_ids[index]})

    results = run_together(31, act)

    # then a paid cash-out was judged before the bust, a refused one says round_busted
    round_.refresh_from_db()
    assert round_.phase == CrashPhase.BUSTED
    outcomes = [r.status_code for r in results[:30]]
    assert set(outcomes) <= {200, 409}
    for index, response in enumerate(results[:30]):
        bet = GameRound.objects.get(pk=bet_ids[index])
        if response.status_code == 200:
            assert bet.settled_at < bust_at
            assert 100 <= bet.multiplier_x100 < round_.crash_x100
            assert bet.payout == 100 * bet.multiplier_x100 // 100
        else:
            assert response.json()["error"]["code"] == "round_busted"
            assert bet.payout == 0
    _settled_once(round_)
    call_command("check_ledger")


def test_two_cash_outs_of_one_bet_at_once_pay_once():
    chain_where_first_round(lambda crash: crash >= 1000)
    services.crash_loop_step()
    player = funded_player(1000)
    token = token_pair_for_user(player)["access"]
    bet_id = api(token, "/api/games/crash/bet", {"bet": 100}).json()["round"]["id"]
    CrashRound.objects.update(betting_ends_at=timezone.now())
    services.crash_loop_step()

    results = run_together(
        6, lambda _: api(token, "/api/games/crash/cashout", {"round_id": bet_id})
    )

    codes = sorted((r.status_code, r.json().get("error", {}).get("code", "")) for r in results)
    assert codes == [(200, "")] + [(409, "round_settled")] * 5
    bet = GameRound.objects.get(pk=bet_id)
    assert (
        LedgerEntry.objects.filter(wallet_id=player.pk, idempotency_key=f"win:{bet_id}").count()
        == 1
    )
    assert Wallet.objects.get(pk=player.pk).balance == 900 + bet.payout
    assert ledger_violations() == []
