"""Limits in plain sight: plays left today, when they reset, the bet range and a running block,
in every play response, in ``GET /api/games/limits`` and in the dashboard; and each round's net."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from accounts.services.responsible import cool_off_start
from games import engine, services
from games.models import CrashRound, DailyPlayCount, FairSeed, GameConfig
from games.selectors import engine_config, game_config_current
from games.tests.crash_helpers import chain_where_first_round
from games.tests.factories import funded_player
from games.tests.test_api import balance, client_for, snapshot

keys = (f"limits-key-{n:08d}" for n in itertools.count())
SEOUL = ZoneInfo("Asia/Seoul")


def post(client, path, body):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=next(keys))


def seed_for(player, game: str, wanted) -> None:
    """Set the player's client seed so the next round of ``game`` satisfies ``wanted(outcome)``."""
    seed = FairSeed.objects.filter(user=player, is_active=True).first()
    if seed is None:
        seed = services.fair_seed_ensure(player.pk)
    config = engine_config(game_config_current(game))
    for attempt in range(500):
        client_seed = f"{game}-seed-{attempt}"
        rng = engine.FairRng(bytes(seed.server_seed), client_seed, seed.nonce)
        if wanted(config, rng):
            FairSeed.objects.filter(pk=seed.pk).update(client_seed=client_seed)
            return
    raise AssertionError("no client seed gives the wanted outcome")


@pytest.mark.django_db
def test_a_player_at_the_slot_limit_sees_none_left_and_the_reset_and_the_spin_is_refused():
    # given a standard player who has spun as often as today allows (11:00 in Seoul)
    player = funded_player(10_000)
    config = game_config_current("slot")
    limit = config.daily_limits["STANDARD"]
    now = datetime(2026, 12, 6, 11, 0, tzinfo=SEOUL)
    with time_machine.travel(now, tick=False):
        client = client_for(player)
        DailyPlayCount.objects.create(user=player, game="slot", day=now.date(), count=limit)
        before = snapshot(player)

        # when the page reads the limits and the player spins anyway
        limits = client.get("/api/games/limits").json()
        refused = post(client, "/api/games/slot/spin", {"bet": 10})

    # then no plays are left until midnight in Seoul, and the spin is refused with nothing moved
    midnight = "2026-12-07T00:00:00+09:00"
    assert limits["games"]["slot"] == {
        "game": "slot",
        "daily_limit": limit,
        "plays_today": limit,
        "plays_left": 0,
        "resets_at": midnight,
        "min_bet": config.min_bet,
        "max_bet": config.max_bet,
    }
    assert limits["resets_at"] == midnight
    assert limits["play_block"] is None
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "daily_limit_reached"
    assert refused.json()["error"]["details"] == {"limit": limit, "resets_at": midnight}
    assert snapshot(player) == before


@pytest.mark.django_db
def test_every_play_response_carries_the_games_limits_after_the_round():
    # given a standard player who has not played today
    player = funded_player(10_000)
    gacha = game_config_current("gacha")

    # when they spin, play rps, pull the gacha and bet on crash once each (at 23:59 in Seoul)
    chain_where_first_round(lambda crash: crash >= 101)
    with time_machine.travel(datetime(2026, 12, 6, 23, 59, tzinfo=SEOUL), tick=False):
        services.crash_loop_step()  # the shared crash round takes bets
        client = client_for(player)
        responses = {
            "slot": post(client, "/api/games/slot/spin", {"bet": 10}),
            "rps": post(client, "/api/games/rps/play", {"bet": 10, "choice": "rock"}),
            "gacha": post(client, "/api/games/gacha/pull", {"count": 1}),
            "crash": post(client, "/api/games/crash/bet", {"bet": 10}),
        }

    # then each shows one play counted, the rest of the rank's limit and the bet range
    for game, response in responses.items():
        assert response.status_code == 200, game
        config = game_config_current(game)
        limit = config.daily_limits["STANDARD"]
        assert response.json()["limits"] == {
            "game": game,
            "daily_limit": limit,
            "plays_today": 1,
            "plays_left": limit - 1,
            "resets_at": "2026-12-07T00:00:00+09:00",
            "min_bet": gacha.engine["price"] if game == "gacha" else config.min_bet,
            "max_bet": gacha.engine["ten_pull_price"] if game == "gacha" else config.max_bet,
        }, game


@pytest.mark.django_db
def test_the_last_play_of_the_day_shows_zero_left():
    # given a player one rps hand from the limit
    player = funded_player(10_000)
    client = client_for(player)
    limit = game_config_current("rps").daily_limits["STANDARD"]
    DailyPlayCount.objects.create(
        user=player, game="rps", day=timezone.localdate(), count=limit - 1
    )

    # when they play it
    response = post(client, "/api/games/rps/play", {"bet": 10, "choice": "paper"})

    # then the response says none are left
    assert response.status_code == 200
    assert (response.json()["limits"]["plays_today"], response.json()["limits"]["plays_left"]) == (
        limit,
        0,
    )


@pytest.mark.django_db
def test_a_rank_without_a_limit_has_no_count_to_show():
    # given a configuration where VIP players play slot without a limit
    previous = game_config_current("slot")
    GameConfig.objects.create(
        game="slot",
        version=previous.version + 1,
        engine=previous.engine,
        min_bet=5,
        max_bet=500,
        daily_limits={"STANDARD": 30, "PREMIUM": 40, "VIP": 0},
    )
    vip = funded_player(1_000, rank="VIP")

    # when the VIP spins
    response = post(client_for(vip), "/api/games/slot/spin", {"bet": 5})

    # then there is no limit to count down, and the bet range is the new version's
    limits = response.json()["limits"]
    assert (limits["daily_limit"], limits["plays_left"], limits["plays_today"]) == (None, None, 1)
    assert (limits["min_bet"], limits["max_bet"]) == (5, 500)


@pytest.mark.django_db
def test_a_cool_off_shows_in_the_limits_and_the_dashboard():
    # given a player in a 24-hour cool-off
    player = funded_player(10_000)
    client = client_for(player)
    state = cool_off_start(player.pk, "24h")

    # when the pages read the limits and the dashboard
    limits = client.get("/api/games/limits").json()
    dashboard = client.get("/api/dashboard").json()

    # then both name the block and its end
    expected = {"kind": "cool_off", "until": state.blocked_until.isoformat()}
    assert limits["play_block"] == expected
    assert dashboard["limits"]["play_block"] == expected
    assert set(dashboard["limits"]["games"]) == {"slot", "crash", "gacha", "rps"}


@pytest.mark.django_db
def test_the_dashboard_counts_todays_plays_per_game():
    # given a player who spun twice today and played rps yesterday
    player = funded_player(10_000)
    client = client_for(player)
    today = timezone.localdate()
    DailyPlayCount.objects.create(user=player, game="slot", day=today, count=2)
    DailyPlayCount.objects.create(user=player, game="rps", day=today - timedelta(days=1), count=3)

    # when the dashboard loads
    games = client.get("/api/dashboard").json()["limits"]["games"]

    # then today's counts show, yesterday's do not
    assert (games["slot"]["plays_today"], games["slot"]["plays_left"]) == (2, 28)
    assert (games["rps"]["plays_today"], games["rps"]["plays_left"]) == (0, 3)
    assert (games["gacha"]["plays_today"], games["crash"]["plays_today"]) == (0, 0)


@pytest.mark.django_db
def test_the_limits_need_a_login(api_client):
    assert api_client.get("/api/games/limits").status_code == 401


# ---------------------------------------------------------------- net results


@pytest.mark.django_db
def test_an_rps_draw_nets_zero():
    # given a player whose next hand is a draw
    player = funded_player(10_000)
    client = client_for(player)
    client.get("/api/games/fairness")
    seed_for(
        player, "rps", lambda config, rng: engine.rps_play(config, rng, "rock").result == "draw"
    )

    # when they play it
    body = post(client, "/api/games/rps/play", {"bet": 10, "choice": "rock"}).json()

    # then the bet comes back and the net is zero
    assert (body["round"]["outcome"]["result"], body["round"]["payout"]) == ("draw", 10)
    assert body["round"]["net"] == 0
    assert body["balance"] == 10_000 == balance(player)


@pytest.mark.django_db
def test_a_crash_cash_out_at_1_01_on_ten_gold_nets_zero():
    # given a bet of 10 gold in a shared round whose crash point is above 1.01×
    player = funded_player(10_000)
    client = client_for(player)
    chain_where_first_round(lambda crash: crash > 101)
    services.crash_loop_step()
    opened = post(client, "/api/games/crash/bet", {"bet": 10}).json()
    round_ = CrashRound.objects.get()
    services.crash_loop_step(now=round_.betting_ends_at)
    round_.refresh_from_db()
    crash = engine.DEFAULT_CRASH_CONFIG

    # when the player cashes out at 1.01×
    at_1_01 = round_.started_at + timedelta(milliseconds=engine.elapsed_ms_for_x100(crash, 101))
    with time_machine.travel(at_1_01, tick=False):
        cashed = post(client, "/api/games/crash/cashout", {"round_id": opened["round"]["id"]})

    # then they get their 10 back: net +0 (and the open bet's net was not yet known)
    assert opened["round"]["net"] is None
    assert cashed.status_code == 200
    assert (cashed.json()["round"]["payout"], cashed.json()["round"]["net"]) == (10, 0)
    assert cashed.json()["limits"]["plays_today"] == 1
    assert balance(player) == 10_000


@pytest.mark.django_db
def test_a_gacha_pull_nets_its_gold_minus_its_price():
    # given a player
    player = funded_player(10_000)
    client = client_for(player)
    price = game_config_current("gacha").engine["price"]

    # when they pull once
    body = post(client, "/api/games/gacha/pull", {"count": 1}).json()

    # then the net is the gold it returned minus the price
    gold = body["round"]["outcome"]["pulls"][0]["reward"]["gold"]
    assert body["round"]["net"] == gold - price == body["round"]["payout"] - body["round"]["bet"]
    assert balance(player) == 10_000 + gold - price
