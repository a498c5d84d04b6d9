"""The shared crash round: chain, loop steps, bets, cash-outs and the bust, through the API."""

import hashlib
import hmac
import io
import itertools
from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import LedgerEntry, LedgerReason, Wallet
from accounts.selectors import ledger_violations
from accounts.tokens import token_pair_for_user
from casinoclub.models import DomainEvent
from games import engine, exceptions, services
from games.models import CrashChain, CrashChainHash, CrashPhase, CrashRound, GameRound
from games.tests.crash_helpers import DEV_SALT, chain_where_first_round
from games.tests.factories import funded_player

keys = (f"crash-live-{n:08d}" for n in itertools.count())
CRASH = engine.DEFAULT_CRASH_CONFIG


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(user)['access']}")
    return client


def post(client, path, body):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=next(keys))


def balance(user) -> int:
    return Wallet.objects.get(pk=user.pk).balance


def ledger_count(user) -> int:
    return LedgerEntry.objects.filter(wallet_id=user.pk).count()


def crash_events() -> list[dict]:
    return [
        {"user_id": event.user_id, **event.payload}
        for event in DomainEvent.objects.filter(type="round_settled").order_by("pk")
        if event.payload["game"] == "crash"
    ]


# ---------------------------------------------------------------- the chain and the crash point


def test_chain_links_hash_the_hex_text_and_rounds_play_it_backwards():
    # given a chain of 4 rounds from a known seed
    seed = "ab" * 32
    links = list(engine.chain_hashes(seed, 4))

    # then each link is sha256 of the previous link's hex text, the last one the terminal hash
    assert links[0] == seed
    for before, after in itertools.pairwise(links):
        assert hashlib.sha256(before.encode()).hexdigest() == after
    # and round k plays links[4 - k]: it hashes to round k - 1's (round 0: the terminal hash)
    assert engine.chain_link_valid(links[3], links[4])
    assert engine.chain_link_valid(links[2], links[3])
    assert not engine.chain_link_valid(links[2], links[4])


def test_crash_point_is_bustabits_formula_from_the_hmac_of_the_round_hash_and_salt():
    round_hash = "cd" * 32
    digest = hmac.new(round_hash.encode(), DEV_SALT.encode(), hashlib.sha256).hexdigest()
    k = int(digest[:13], 16)
    expected = max(100, (99 * 2**52) // (2**52 - k))

    assert engine.chain_crash_point_x100(CRASH, round_hash, DEV_SALT) == expected


def test_draws_below_one_point_zero_one_are_instant_busts():
    # 99 / (1 - u) below 101 hundredths: u < 2/101, the instant-bust share of 1.98 %
    from games.engine.crash import crash_point_from_uint52

    assert crash_point_from_uint52(CRASH, 0) == 100
    assert crash_point_from_uint52(CRASH, (2 * 2**52) // 101 - 1) == 100
    assert crash_point_from_uint52(CRASH, (2 * 2**52) // 101 + 1) == 101


@pytest.mark.django_db
def test_a_chain_stores_every_link_and_its_salt_is_set_once_from_a_named_source():
    chain = services.crash_chain_create(3, seed_hex="01" * 32)
    links = list(engine.chain_hashes("01" * 32, 3))
    assert chain.terminal_hash == links[3]

    with pytest.raises(exceptions.CrashChainInvalid):
        services.crash_chain_salt_set(chain.pk, "not hex", "Bitcoin block 1")
    with pytest.raises(exceptions.CrashChainInvalid):
        services.crash_chain_salt_set(chain.pk, DEV_SALT, " ")
    services.crash_chain_salt_set(chain.pk, DEV_SALT, "Bitcoin block 1")
    with pytest.raises(exceptions.CrashChainInvalid):
        services.crash_chain_salt_set(chain.pk, "ff" * 32, "Bitcoin block 2")
    chain.refresh_from_db()
    assert (chain.salt, chain.salt_source) == (DEV_SALT, "Bitcoin block 1")


@pytest.mark.django_db
def test_no_round_opens_on_a_chain_without_its_salt():
    services.crash_chain_create(3, seed_hex="02" * 32)

    services.crash_loop_step()

    assert CrashRound.objects.count() == 0


# ---------------------------------------------------------------- a round through the API


def _open_round(wanted) -> CrashRound:
    chain_where_first_round(wanted)
    services.crash_loop_step()
    return CrashRound.objects.get()


def _start(round_: CrashRound) -> CrashRound:
    services.crash_loop_step(now=round_.betting_ends_at)
    round_.refresh_from_db()
    assert round_.phase == CrashPhase.RUNNING
    return round_


@pytest.mark.django_db
def test_bets_cash_out_and_bust_settle_every_bet_once_at_the_right_multiplier():
    # given a round that busts at 2.00x or more, and three players
    round_ = _open_round(lambda crash: crash >= 200)
    cashing, auto, losing = funded_player(1000), funded_player(1000), funded_player(1000)
    assert round_.phase == CrashPhase.BETTING
    assert round_.position == 1

    # when they bet in the window (one with an auto cash-out at 1.50x)
    bets = {
        "cashing": post(client_for(cashing), "/api/games/crash/bet", {"bet": 100}),
        "auto": post(client_for(auto), "/api/games/crash/bet", {"bet": 100, "auto_cashout": 1.5}),
        "losing": post(client_for(losing), "/api/games/crash/bet", {"bet": 100}),
    }
    again = post(client_for(losing), "/api/games/crash/bet", {"bet": 100})

    # then each is debited once, a second bet of the round is refused
    assert {name: response.status_code for name, response in bets.items()} == dict.fromkeys(
        bets, 200
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_bet"
    assert [balance(p) for p in (cashing, auto, losing)] == [900, 900, 900]
    assert bets["cashing"].json()["round"]["crash_round_id"] == round_.pk
    assert bets["cashing"].json()["round"]["outcome"] == {}

    # when the round runs and one player cashes out 1,000 ms in
    round_ = _start(round_)
    assert round_.bust_at == round_.started_at + timedelta(
        milliseconds=engine.crash_bust_ms(CRASH, round_.crash_x100)
    )
    with time_machine.travel(round_.started_at + timedelta(milliseconds=1000), tick=False):
        cashed = post(
            client_for(cashing),
            "/api/games/crash/cashout",
            {"round_id": bets["cashing"].json()["round"]["id"]},
        )
        state = client_for(losing).get("/api/games/crash/state").json()
    # then they get the curve's multiplier at 1,000 ms, and the crash point is still secret
    paid_x100 = engine.multiplier_at_x100(CRASH, 1000)
    assert cashed.status_code == 200, cashed.json()
    assert cashed.json()["round"]["payout"] == 100 * paid_x100 // 100
    assert cashed.json()["round"]["outcome"] == {"cashout_x100": paid_x100}
    assert balance(cashing) == 900 + 100 * paid_x100 // 100
    assert state["round"]["crash_point"] is None
    assert state["round"]["hash"] is None
    assert client_for(losing).get(f"/api/games/crash/rounds/{round_.pk}").status_code == 404

    # when the loop reaches the bust
    services.crash_loop_step(now=round_.bust_at)

    # then the auto bet won exactly 1.50x, the other bet lost, and every bet has one event
    round_.refresh_from_db()
    assert round_.phase == CrashPhase.BUSTED
    assert [balance(p) for p in (cashing, auto, losing)] == [900 + paid_x100, 1050, 900]
    settled = {bet.user_id: bet for bet in GameRound.objects.filter(crash_round=round_)}
    assert settled[auto.pk].payout == 150
    assert settled[auto.pk].multiplier_x100 == 150
    assert settled[losing.pk].payout == 0
    assert settled[losing.pk].state == "settled"
    assert all(bet.outcome["crash_x100"] == round_.crash_x100 for bet in settled.values())
    events = crash_events()
    assert sorted((e["user_id"], e["payout"]) for e in events) == sorted(
        [(cashing.pk, paid_x100), (auto.pk, 150), (losing.pk, 0)]
    )
    assert ledger_violations() == []
    # and the finished round shows its hash, link and every bet
    detail = client_for(losing).get(f"/api/games/crash/rounds/{round_.pk}").json()
    assert detail["crash_point"] == round_.crash_x100 / 100
    assert detail["hash"] == round_.hash
    assert detail["previous_hash"] == round_.chain.terminal_hash
    assert engine.chain_link_valid(detail["hash"], detail["previous_hash"])
    assert sorted((b["nickname"], b["cashout"]) for b in detail["bets"]) == sorted(
        [(cashing.nickname, paid_x100 / 100), (auto.nickname, 1.5), (losing.nickname, None)]
    )
    busts = client_for(losing).get("/api/games/crash/state").json()["busts"]
    assert busts[0]["id"] == round_.pk
    assert busts[0]["crash_point"] == round_.crash_x100 / 100


@pytest.mark.django_db
def test_a_bet_outside_the_betting_window_is_refused_and_changes_nothing():
    player = funded_player(1000)
    client = client_for(player)
    # no round yet
    refused = [post(client, "/api/games/crash/bet", {"bet": 10})]
    round_ = _open_round(lambda crash: crash >= 300)
    # the window's end passed, the loop has not started the round yet
    with time_machine.travel(round_.betting_ends_at, tick=False):
        refused.append(post(client, "/api/games/crash/bet", {"bet": 10}))
    _start(round_)
    refused.append(post(client, "/api/games/crash/bet", {"bet": 10}))

    assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [
        (409, "betting_closed")
    ] * 3
    assert (balance(player), ledger_count(player)) == (1000, 1)
    assert GameRound.objects.filter(user=player).count() == 0


@pytest.mark.django_db
def test_a_bet_that_would_raise_the_rounds_maximum_payout_over_the_cap_is_refused(settings):
    # given a cap of 10,000 gold a round
    settings.CRASH_ROUND_EXPOSURE_CAP = 10_000
    _open_round(lambda crash: crash >= 101)
    first, second = funded_player(10_000), funded_player(10_000)

    # when one bet can pay 50 x 100 = 5,000 and the next could pay 60 x 100 = 6,000
    taken = post(client_for(first), "/api/games/crash/bet", {"bet": 50, "auto_cashout": 100})
    full = post(client_for(second), "/api/games/crash/bet", {"bet": 60, "auto_cashout": 100})
    fits = post(client_for(second), "/api/games/crash/bet", {"bet": 50, "auto_cashout": 100})

    assert taken.status_code == 200
    assert full.status_code == 409
    assert full.json()["error"]["code"] == "round_exposure_full"
    assert fits.status_code == 200
    assert balance(second) == 10_000 - 50
    assert CrashRound.objects.get().exposure == 10_000


@pytest.mark.django_db
def test_a_cash_out_at_or_after_the_bust_moment_is_refused_and_pays_nothing():
    round_ = _open_round(lambda crash: crash >= 150)
    player = funded_player(1000)
    bet = post(client_for(player), "/api/games/crash/bet", {"bet": 100}).json()["round"]["id"]
    early = post(client_for(player), "/api/games/crash/cashout", {"round_id": bet})
    round_ = _start(round_)

    # the loop is late: the bust moment passed, the round is not settled yet
    with time_machine.travel(round_.bust_at, tick=False):
        late = post(client_for(player), "/api/games/crash/cashout", {"round_id": bet})
    services.crash_loop_step(now=round_.bust_at)
    after = post(client_for(player), "/api/games/crash/cashout", {"round_id": bet})

    assert early.status_code == 409
    assert early.json()["error"]["code"] == "round_not_running"
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "round_busted"
    assert after.status_code == 409
    assert after.json()["error"]["code"] == "round_busted"
    assert balance(player) == 900
    assert GameRound.objects.get(pk=bet).payout == 0


@pytest.mark.django_db
def test_another_players_bet_cannot_be_cashed_out():
    round_ = _open_round(lambda crash: crash >= 300)
    owner, thief = funded_player(1000), funded_player(1000)
    bet = post(client_for(owner), "/api/games/crash/bet", {"bet": 100}).json()["round"]["id"]
    round_ = _start(round_)
    with time_machine.travel(round_.started_at + timedelta(milliseconds=500), tick=False):
        stolen = post(client_for(thief), "/api/games/crash/cashout", {"round_id": bet})

    assert stolen.status_code == 404
    assert (balance(owner), balance(thief)) == (900, 1000)


@pytest.mark.django_db
def test_an_instant_bust_pays_no_auto_cash_out():
    round_ = _open_round(lambda crash: crash == 100)
    player = funded_player(1000)
    post(client_for(player), "/api/games/crash/bet", {"bet": 100, "auto_cashout": 1.01})

    services.crash_loop_step(now=round_.betting_ends_at)  # starts it: busts at 0 ms
    services.crash_loop_step(now=round_.betting_ends_at)

    assert CrashRound.objects.get().phase == CrashPhase.BUSTED
    assert balance(player) == 900
    assert [e["payout"] for e in crash_events()] == [0]


@pytest.mark.django_db
def test_a_new_leader_voids_a_round_still_betting_and_returns_every_stake():
    round_ = _open_round(lambda crash: crash >= 101)
    players = [funded_player(1000) for _ in range(3)]
    for player in players:
        assert post(client_for(player), "/api/games/crash/bet", {"bet": 70}).status_code == 200

    voided = services.crash_loop_takeover()

    round_.refresh_from_db()
    assert (voided, round_.phase) == (1, CrashPhase.VOIDED)
    assert [balance(p) for p in players] == [1000] * 3
    assert [e["payout"] for e in crash_events()] == [70] * 3
    assert ledger_violations() == []
    # and the next step opens the next round of the chain after the pause
    services.crash_loop_step(now=round_.ended_at + timedelta(seconds=60))
    assert CrashRound.objects.order_by("-pk").first().position == 2


@pytest.mark.django_db
def test_a_new_leader_leaves_a_running_round_to_bust_at_its_committed_time():
    round_ = _open_round(lambda crash: crash >= 200)
    player = funded_player(1000)
    post(client_for(player), "/api/games/crash/bet", {"bet": 100, "auto_cashout": 2})
    round_ = _start(round_)

    assert services.crash_loop_takeover() == 0
    services.crash_loop_step(now=round_.bust_at - timedelta(milliseconds=1))
    assert CrashRound.objects.get().phase == CrashPhase.RUNNING
    services.crash_loop_step(now=round_.bust_at)

    assert CrashRound.objects.get().phase == CrashPhase.BUSTED
    assert balance(player) == 1100


@pytest.mark.django_db
def test_maintenance_settles_what_it_can_and_says_what_still_runs():
    round_ = _open_round(lambda crash: crash >= 200)
    player = funded_player(1000)
    post(client_for(player), "/api/games/crash/bet", {"bet": 100})
    round_ = _start(round_)

    with time_machine.travel(round_.bust_at - timedelta(milliseconds=10), tick=False):
        still_running = services.crash_settle_open_rounds()
    with time_machine.travel(round_.bust_at, tick=False):
        after = services.crash_settle_open_rounds()

    assert (still_running, after) == (1, 0)
    assert CrashRound.objects.get().phase == CrashPhase.BUSTED


@pytest.mark.django_db
def test_the_chain_command_makes_a_chain_sets_its_salt_once_and_keeps_the_dev_salt_out_of_production(
    settings,
):
    out = io.StringIO()
    call_command("crash_chain", "create", "--length", "4", stdout=out)
    chain = CrashChain.objects.get()
    assert f"terminal hash: {chain.terminal_hash}" in out.getvalue()
    assert CrashChainHash.objects.filter(chain=chain).count() == 5

    call_command(
        "crash_chain", "set-salt", str(chain.pk), "--salt", "ab" * 32, "--source", "Bitcoin block 9"
    )
    with pytest.raises(CommandError, match="already set"):
        call_command(
            "crash_chain", "set-salt", str(chain.pk), "--salt", "cd" * 32, "--source", "other"
        )
    settings.ENVIRONMENT = "production"
    with pytest.raises(CommandError, match="production"):
        call_command("crash_chain", "dev-chain")
    chain.refresh_from_db()
    assert (chain.salt, CrashChain.objects.count()) == ("ab" * 32, 1)


@pytest.mark.django_db
def test_a_new_leader_returns_the_stake_of_a_private_round_left_open_from_before():
    # given a private crash round (drawn from the player's seed pair) still open
    player = funded_player(1000)
    seed = services.fair_seed_ensure(player.pk)
    config = services.game_config_current("crash")
    account_services.wallet_debit(
        player.pk, 100, reason=LedgerReason.GAME_BET, reference="crash:legacy",
        idempotency_key="bet:legacy",
    )  # fmt: skip
    legacy = GameRound.objects.create(
        user=player, game="crash", config=config, fair_seed=seed, nonce=0, bet=100,
        params={"auto_cashout_x100": None}, outcome={"crash_x100": 250}, state="open",
    )  # fmt: skip

    handled = services.crash_loop_takeover()

    legacy.refresh_from_db()
    assert handled == 1
    assert (legacy.state, legacy.payout, legacy.multiplier_x100) == ("settled", 100, 100)
    assert balance(player) == 1000
    assert [e["payout"] for e in crash_events()] == [100]
    assert ledger_violations() == []
