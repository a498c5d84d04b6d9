"""Responsible play: age gate, purchase limits, cool-off and self-exclusion, reality checks."""

import itertools
from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import LedgerEntry, User, Wallet
from casinoclub.realtime.models import RealtimeMessage
from casinoclub.tests.projection_helpers import caught_up
from games.models import GameRound
from games.tests.factories import funded_player
from shop.models import Purchase
from shop.tests.factories import GoldPackFactory, ItemFactory
from shop.tests.test_shop import client_for

keys = (f"rp-{n:08d}" for n in itertools.count())


def post(client, path, body):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=next(keys))


def signup(api_client, birth_date: str):
    body = {
        "site_id": "youngster",
        "nickname": "Youngster",
        "phone_number": "01033334444",
        "password": "Str0ng-passw0rd!",
        "invite_code": "5858",
        "birth_date": birth_date,
    }
    return api_client.post("/api/auth/signup", body, format="json")


@pytest.mark.django_db
def test_signup_requires_the_minimum_age(api_client):
    today = timezone.localdate()
    too_young = date(today.year - 18, today.month, today.day) + timedelta(days=1)

    refused = signup(api_client, too_young.isoformat())
    missing = api_client.post("/api/auth/signup", {"site_id": "x"}, format="json")

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "age_restricted"
    assert "birth_date" in missing.json()["error"]["details"]
    assert not User.objects.filter(site_id="youngster").exists()
    old_enough = signup(api_client, (too_young - timedelta(days=1)).isoformat())
    assert old_enough.status_code == 201


@pytest.mark.django_db
def test_a_self_excluded_player_cannot_spin_or_buy_and_cannot_undo_it():
    player = funded_player(10_000)
    client = client_for(player)
    GoldPackFactory(code="pack")
    ItemFactory(code="hat", price_gold=100)

    excluded = client.post("/api/responsible-play/self-exclusion", {"days": 30}, format="json")
    spin = post(client, "/api/games/slot/spin", {"bet": 10})
    pack = post(client, "/api/shop/buy", {"product_code": "pack"})
    hat = post(client, "/api/shop/buy", {"product_code": "hat"})
    shorter = client.post("/api/responsible-play/cool-off", {"duration": "24h"}, format="json")

    assert excluded.json()["blocked"] is True
    assert excluded.json()["block_kind"] == "self_exclusion"
    for response in (spin, pack, hat):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "play_blocked"
    assert shorter.status_code == 409
    assert shorter.json()["error"]["code"] == "block_cannot_be_shortened"
    assert Wallet.objects.get(pk=player.pk).balance == 10_000
    assert not GameRound.objects.exists()
    assert not Purchase.objects.exists()
    assert LedgerEntry.objects.filter(wallet_id=player.pk).count() == 1


@pytest.mark.django_db
def test_cool_off_ends_by_itself():
    player = funded_player(1000)
    client = client_for(player)
    start = timezone.now()

    with time_machine.travel(start, tick=False) as clock:
        client.post("/api/responsible-play/cool-off", {"duration": "24h"}, format="json")
        assert post(client, "/api/games/slot/spin", {"bet": 10}).status_code == 403
        clock.shift(timedelta(hours=24, seconds=1))
        assert post(client_for(player), "/api/games/slot/spin", {"bet": 10}).status_code == 200


@pytest.mark.django_db
def test_daily_purchase_limit_lowers_at_once_and_raises_only_after_a_day():
    player = funded_player(0)
    client = client_for(player)
    GoldPackFactory(code="pack", price_cents=4900)
    start = timezone.now()

    with time_machine.travel(start, tick=False) as clock:
        client.post(
            "/api/responsible-play/purchase-limit",
            {"daily_purchase_limit_cents": 5000},
            format="json",
        )
        first = post(client, "/api/shop/buy", {"product_code": "pack"})
        second = post(client, "/api/shop/buy", {"product_code": "pack"})
        raised = client.post(
            "/api/responsible-play/purchase-limit",
            {"daily_purchase_limit_cents": 20000},
            format="json",
        )
        still = post(client, "/api/shop/buy", {"product_code": "pack"})
        clock.shift(timedelta(hours=24, minutes=1))
        later = post(client_for(player), "/api/shop/buy", {"product_code": "pack"})

    assert first.status_code == 200
    assert (second.status_code, second.json()["error"]["code"]) == (403, "purchase_limit_reached")
    assert raised.json()["daily_purchase_limit_cents"] == 5000
    assert raised.json()["pending_purchase_limit_cents"] == 20000
    assert still.status_code == 403
    assert later.status_code == 200
    assert Purchase.objects.filter(user=player).count() == 2


@pytest.mark.django_db
def test_reality_check_arrives_every_n_minutes_of_continuous_play(settings):
    settings.REALITY_CHECK_MINUTES = 30
    player = funded_player(10_000, rank="VIP")
    start = timezone.now()

    with time_machine.travel(start, tick=False) as clock:
        for _ in range(4):  # a round every 10 minutes: one continuous 30-minute session
            post(client_for(player), "/api/games/slot/spin", {"bet": 10})  # a fresh access token
            clock.shift(timedelta(minutes=10))
    caught_up()  # the play-session projection counts each round at its own time

    checks = [
        data
        for data in RealtimeMessage.objects.filter(user=player, type="game_event").values_list(
            "data", flat=True
        )
        if data["event"] == "reality_check"
    ]
    assert len(checks) == 1
    assert checks[0]["session_minutes"] == 30
