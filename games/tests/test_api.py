"""Games through the HTTP API: every bet and payout through the ledger, every route idempotent."""

import hashlib
import itertools
import json
from fractions import Fraction

import pytest
from django.db import transaction
from django.utils import timezone
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import InventoryItem, LedgerEntry, Wallet
from accounts.selectors import ledger_violations
from accounts.services import inventory_add
from accounts.tokens import token_pair_for_user
from casinoclub.realtime.models import RealtimeMessage
from casinoclub.tests.projection_helpers import caught_up
from games import engine, services
from games.models import FairSeed, GameRound, LeaderboardEntry, PlayerGameStats
from games.tests.factories import funded_player

keys = (f"key-{n:08d}" for n in itertools.count())


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(user)['access']}")
    return client


def post(client, path, body, key=None):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key or next(keys))


def balance(user) -> int:
    return Wallet.objects.get(pk=user.pk).balance


def snapshot(user):
    return (
        balance(user),
        LedgerEntry.objects.filter(wallet_id=user.pk).count(),
        GameRound.objects.filter(user=user).count(),
        list(FairSeed.objects.filter(user=user).values_list("nonce", flat=True)),
        RealtimeMessage.objects.filter(user=user).count(),
    )


@pytest.fixture
def player(db):
    return funded_player(10_000)


@pytest.fixture
def client(player):
    return client_for(player)


def stats_latency_count() -> float:
    return REGISTRY.get_sample_value("game_stats_update_latency_ms_count") or 0.0


@pytest.mark.django_db
def test_slot_spin_moves_gold_through_the_ledger_and_records_the_round(
    player, client, django_capture_on_commit_callbacks
):
    observed = stats_latency_count()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "/api/games/slot/spin", {"bet": 100})
    assert stats_latency_count() == observed + 1

    assert response.status_code == 200
    body = response.json()
    round_ = GameRound.objects.get(user=player)
    assert body["round"]["id"] == round_.pk
    assert body["round"]["bet"] == 100
    assert body["round"]["payout"] == round_.payout
    assert len(body["round"]["outcome"]["reels"]) == 3
    assert body["balance"] == 10_000 - 100 + round_.payout == balance(player)
    deltas = list(
        LedgerEntry.objects.filter(wallet_id=player.pk)
        .order_by("id")
        .values_list("delta", "reason")
    )
    expected = [(10_000, "staff_grant"), (-100, "game_bet")] + (
        [(round_.payout, "game_win")] if round_.payout else []
    )
    assert deltas == expected
    assert ledger_violations() == []
    stats = PlayerGameStats.objects.get(user=player, game="slot")
    assert (stats.plays, stats.total_bet, stats.total_won) == (1, 100, round_.payout)
    types = list(
        RealtimeMessage.objects.filter(user=player).order_by("seq").values_list("type", flat=True)
    )
    assert "game_event" in types
    assert "progress_update" in types


@pytest.mark.django_db
def test_same_key_replays_the_spin_without_a_second_round(player, client):
    first = post(client, "/api/games/slot/spin", {"bet": 50}, key="spin-replay-1")
    again = post(client, "/api/games/slot/spin", {"bet": 50}, key="spin-replay-1")
    other = post(client, "/api/games/slot/spin", {"bet": 60}, key="spin-replay-1")

    assert again.content == first.content
    assert other.status_code == 422
    assert GameRound.objects.filter(user=player).count() == 1


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/api/games/slot/spin", {"bet": 0}, 400, "validation_error"),
        ("/api/games/slot/spin", {"bet": -5}, 400, "validation_error"),
        ("/api/games/slot/spin", {"bet": 1.5}, 400, "validation_error"),
        ("/api/games/slot/spin", {"bet": "10"}, 400, "validation_error"),
        ("/api/games/slot/spin", {"bet": True}, 400, "validation_error"),
        ("/api/games/slot/spin", {"bet": 5}, 400, "bet_out_of_range"),
        ("/api/games/slot/spin", {"bet": 10_001}, 400, "bet_out_of_range"),
        ("/api/games/slot/spin", {"bet": 10, "user_id": 1}, 400, "validation_error"),
        ("/api/games/rps/play", {"bet": 10, "choice": "lizard"}, 400, "validation_error"),
        ("/api/games/gacha/pull", {"count": 5}, 400, "validation_error"),
        (
            "/api/games/crash/bet",
            {"bet": 10, "auto_cashout": 1.00},
            400,
            "invalid_cashout_target",
        ),
        ("/api/games/crash/cashout", {"round_id": 999999}, 404, "not_found"),
    ],
)
@pytest.mark.django_db
def test_bad_input_is_4xx_and_changes_nothing(player, client, path, body, status, code):
    before = snapshot(player)

    response = post(client, path, body)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert snapshot(player) == before


@pytest.mark.django_db
def test_missing_idempotency_key_is_400(player, client):
    response = client.post("/api/games/slot/spin", {"bet": 10}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"
    assert not GameRound.objects.exists()


@pytest.mark.django_db
def test_insufficient_gold_is_409_and_changes_nothing():
    poor = funded_player(50)
    client = client_for(poor)
    before = snapshot(poor)

    response = post(client, "/api/games/slot/spin", {"bet": 100})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_funds"
    assert snapshot(poor) == before


@pytest.mark.django_db
def test_daily_limit_by_rank(player, client):
    config = services.game_config_current("rps")
    assert config.daily_limits["STANDARD"] == 3

    statuses = [
        post(client, "/api/games/rps/play", {"bet": 10, "choice": "rock"}).status_code
        for _ in range(4)
    ]
    before = snapshot(player)
    refused = post(client, "/api/games/rps/play", {"bet": 10, "choice": "rock"})

    assert statuses == [200, 200, 200, 429]
    assert refused.json()["error"]["code"] == "daily_limit_reached"
    assert snapshot(player) == before
    vip = funded_player(1000, rank="VIP")
    vip_client = client_for(vip)
    assert [
        post(vip_client, "/api/games/rps/play", {"bet": 10, "choice": "paper"}).status_code
        for _ in range(6)
    ] == [200] * 5 + [429]


@pytest.mark.django_db
def test_rps_pays_by_result(player, client):
    for _ in range(3):
        body = post(client, "/api/games/rps/play", {"bet": 100, "choice": "scissors"}).json()[
            "round"
        ]
        expected = {"win": 196, "draw": 100, "loss": 0}[body["outcome"]["result"]]
        assert body["payout"] == expected
        assert body["outcome"]["player"] == "scissors"


@pytest.mark.django_db
def test_gacha_every_pull_grants_its_reward(player, client):
    config = services.game_config_current("gacha")

    one = post(client, "/api/games/gacha/pull", {"count": 1}).json()
    ten = post(client, "/api/games/gacha/pull", {"count": 10}).json()

    pulls = one["round"]["outcome"]["pulls"] + ten["round"]["outcome"]["pulls"]
    assert len(pulls) == 11
    assert all(pull["reward"]["gold"] > 0 or pull["reward"]["item"] for pull in pulls)
    assert one["round"]["bet"] == config.engine["price"]
    assert ten["round"]["bet"] == config.engine["ten_pull_price"]
    gold = sum(pull["reward"]["gold"] for pull in pulls)
    assert (
        balance(player) == 10_000 - config.engine["price"] - config.engine["ten_pull_price"] + gold
    )
    items = [pull["reward"]["item"] for pull in pulls if pull["reward"]["item"]]
    inventory = client.get("/api/games/gacha/inventory").json()["items"]
    assert sum(row["quantity"] for row in inventory) == len(items)
    assert InventoryItem.objects.filter(user=player).count() == len(set(items))
    assert (
        PlayerGameStats.objects.get(user=player, game="gacha").gacha_pity
        == ten["round"]["outcome"]["pity"]
    )
    assert ledger_violations() == []


@pytest.mark.django_db
def test_gacha_config_publishes_rates(client):
    body = client.get("/api/games/gacha/config").json()

    assert body["config_version"] == 1
    assert body["pity_threshold"] > 0
    assert body["odds"]["rtp"] > 0


@pytest.mark.parametrize("game", ["slot", "crash", "gacha", "rps"])
@pytest.mark.django_db
def test_odds_are_published_for_every_game_before_login(game):
    # given a visitor who has not logged in
    anonymous = APIClient()

    # when they read a game's odds
    response = anonymous.get(f"/api/games/{game}/odds")

    # then the figures and the configuration they come from are there
    assert response.status_code == 200
    body = response.json()
    minimum_rtp = 0.5 if game == "gacha" else 0.85  # gacha: gold only, items are not priced
    assert minimum_rtp < body["rtp"] < 1.0
    assert body["config_version"] == 1
    assert body["outcomes"]
    assert body["config"] == {
        key: value
        for key, value in engine.DEFAULT_CONFIGS[game].to_dict().items()
        if key != "item_values"
    }


@pytest.mark.django_db
def test_gacha_disclosure_states_the_gold_return_and_each_item_drop_rate_never_an_item_price(
    client,
):
    # given the default gacha configuration, whose items cannot be sold back
    config = engine.DEFAULT_CONFIGS["gacha"]

    # when the odds, the gacha configuration route and a verified round are read
    odds = client.get("/api/games/gacha/odds").json()
    gacha_config = client.get("/api/games/gacha/config").json()

    # then the return to player counts gold only (it was 91.15% with items at a gold value)
    assert Fraction(odds["rtp_exact"]) == engine.gacha_gold_per_pull(config) / config.price
    assert odds["rtp_percent"] == "51.74%"
    assert gacha_config["odds"]["rtp_percent"] == "51.74%"
    # each outcome's multiplier is its gold alone
    golds = [reward.gold for rarity in config.rarities for reward, _ in rarity.rewards]
    assert [row["multiplier_x100"] for row in odds["outcomes"]] == [
        gold * 100 // config.price for gold in golds
    ]
    # each item has its own drop rate and its display name, and no gold value anywhere
    rates = {row["item_code"]: row for row in odds["extra"]["item_drop_rates"]}
    assert set(rates) == set(config.item_values)
    assert {code: Fraction(row["probability_exact"]) for code, row in rates.items()} == (
        engine.gacha_item_drop_rates(config)
    )
    assert rates["frame_silver"]["name"] == "Silver avatar frame"
    assert rates["frame_silver"]["kind"] == "frame"
    assert "item_values" not in json.dumps(odds)
    assert "item_values" not in json.dumps(gacha_config)
    assert "expected_value_per_pull" not in odds["extra"]


@pytest.mark.django_db
def test_unknown_game_odds_is_404(client):
    assert client.get("/api/games/poker/odds").status_code == 404


@pytest.mark.django_db
def test_fairness_commit_rotate_reveal_and_verify(player, client):
    fairness = client.get("/api/games/fairness").json()
    assert "server_seed" not in fairness
    spin = post(client, "/api/games/slot/spin", {"bet": 10}).json()["round"]
    assert spin["server_seed_hash"] == fairness["server_seed_hash"]
    assert spin["nonce"] == 0

    hidden = client.get(f"/api/games/rounds/{spin['id']}/verify").json()
    assert hidden["revealed"] is False
    assert "server_seed" not in hidden

    rotated = client.post(
        "/api/games/fairness/rotate", {"client_seed": "my-lucky-seed"}, format="json"
    ).json()
    revealed = bytes.fromhex(rotated["previous"]["server_seed"])
    assert hashlib.sha256(revealed).hexdigest() == fairness["server_seed_hash"]
    assert rotated["current"]["client_seed"] == "my-lucky-seed"
    assert rotated["current"]["nonce"] == 0
    assert "server_seed" not in rotated["current"]

    verified = client.get(f"/api/games/rounds/{spin['id']}/verify").json()
    assert verified["verified"] is True
    assert verified["recomputed"] == {"reels": spin["outcome"]["reels"]}


@pytest.mark.django_db
def test_verify_is_only_for_the_players_own_rounds(player, client):
    spin = post(client, "/api/games/slot/spin", {"bet": 10}).json()["round"]
    other = client_for(funded_player(100))

    assert other.get(f"/api/games/rounds/{spin['id']}/verify").status_code == 404


@pytest.mark.django_db
def test_stats_history_and_leaderboard(player, client):
    for _ in range(3):
        post(client, "/api/games/slot/spin", {"bet": 10})
    post(client, "/api/games/rps/play", {"bet": 10, "choice": "rock"})
    caught_up()
    rounds = GameRound.objects.filter(user=player)

    stats = {row["game"]: row for row in client.get("/api/games/stats/me").json()}
    history = client.get("/api/games/history?game=slot&page_size=2").json()
    board = client.get("/api/games/leaderboard?period=daily&by=net_win").json()

    slot_rounds = rounds.filter(game="slot")
    assert stats["slot"]["plays"] == 3
    assert stats["slot"]["net"] == sum(r.payout - r.bet for r in slot_rounds)
    assert stats["rps"]["plays"] == 1
    assert history["count"] == 3
    assert [r["id"] for r in history["results"]] == list(
        slot_rounds.order_by("-id").values_list("pk", flat=True)[:2]
    )
    assert board["entries"][0]["user_id"] == player.pk
    assert board["entries"][0]["net_win"] == sum(r.payout - r.bet for r in rounds)
    assert board["entries"][0]["rounds"] == 4
    assert client.get("/api/games/leaderboard?period=yearly").status_code == 400


@pytest.mark.django_db
def test_games_require_login(api_client):
    assert api_client.post("/api/games/slot/spin", {"bet": 10}, format="json").status_code == 401
    assert api_client.get("/api/games/fairness").status_code == 401


@pytest.mark.django_db
def test_the_leaderboard_shows_each_players_equipped_items(client, player):
    # given two players on today's leaderboard, one showing a gold frame
    rival = funded_player(0)
    with transaction.atomic():
        inventory_add(player.pk, "frame_gold")
    account_services.item_equip(player.pk, "frame_gold")
    today = timezone.localdate()
    LeaderboardEntry.objects.create(
        period="daily", period_start=today, user=player, net_win=50, rounds=1
    )
    LeaderboardEntry.objects.create(
        period="daily", period_start=today, user=rival, net_win=10, rounds=1
    )

    # when the leaderboard is read
    board = client.get("/api/games/leaderboard?period=daily").json()["entries"]

    # then each row carries the player's equipped items by name
    assert [(entry["user_id"], entry["equipped"]) for entry in board] == [
        (
            player.pk,
            [
                {
                    "item_code": "frame_gold",
                    "name": "Gold avatar frame",
                    "kind": "frame",
                    "kind_name": "Avatar frame",
                }
            ],
        ),
        (rival.pk, []),
    ]
