"""Battle pass: season XP from play, tiers claimed once per track, premium via a shop item."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import InventoryItem
from accounts.services import inventory_add
from games.tests.factories import funded_player
from gamification.models import BattlePassClaim, SeasonProgress
from gamification.tests.factories import SeasonFactory, TierFactory
from gamification.tests.helpers import balance, client_of, ledger, post


@pytest.fixture
def player(no_achievements):
    return funded_player(10_000)


@pytest.fixture
def season(db):
    season = SeasonFactory(code="s1", name="Season 1")
    TierFactory(season=season, number=1, xp_required=0, free_reward_gold=100)
    TierFactory(
        season=season,
        number=2,
        xp_required=20,
        free_reward_gold=0,
        free_reward_item="frame_gold",
        premium_reward_gold=500,
        premium_reward_item="avatar_dragon",
    )
    return season


def snapshot(player):
    return (
        balance(player),
        ledger(player),
        BattlePassClaim.objects.filter(user=player).count(),
        list(InventoryItem.objects.filter(user=player).values_list("item_code", "quantity")),
    )


@pytest.mark.django_db
def test_no_season_running(player):
    client = client_of(player)

    assert client.get("/api/battle-pass").json() == {
        "season": None,
        "xp": 0,
        "premium_unlocked": False,
        "tiers": [],
    }
    refused = post(client, "/api/battle-pass/claim", {"tier": 1, "track": "free"})
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "season_not_active"


@pytest.mark.django_db
def test_rounds_earn_season_xp_that_unlocks_tiers(player, season):
    client = client_of(player)
    before = client.get("/api/battle-pass").json()

    for _ in range(2):
        assert post(client, "/api/games/slot/spin", {"bet": 100}).status_code == 200
    after = client.get("/api/battle-pass").json()

    assert before["season"]["code"] == "s1"
    assert before["season"]["premium_item_code"] == "battle_pass_premium:s1"
    assert [(t["number"], t["unlocked"]) for t in before["tiers"]] == [(1, True), (2, False)]
    assert after["xp"] == 20
    assert [(t["number"], t["unlocked"]) for t in after["tiers"]] == [(1, True), (2, True)]
    assert after["tiers"][1]["free"] == {
        "reward_gold": 0,
        "reward_item": "frame_gold",
        "reward_item_name": "Gold frame",  # what the page shows, never the code
        "claimed": False,
        "claimable": True,
    }
    assert after["tiers"][1]["premium"]["claimable"] is False  # no premium item


@pytest.mark.django_db
def test_xp_earned_outside_the_season_does_not_count(player):
    SeasonFactory(
        code="future",
        starts_at=timezone.now() + timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=2),
    )

    post(client_of(player), "/api/games/slot/spin", {"bet": 100})

    assert not SeasonProgress.objects.exists()


@pytest.mark.django_db
def test_a_tier_is_claimed_once_per_track(player, season):
    client = client_of(player)
    first = post(client, "/api/battle-pass/claim", {"tier": 1, "track": "free"}, key="bp-key-0001")
    replay = post(client, "/api/battle-pass/claim", {"tier": 1, "track": "free"}, key="bp-key-0001")
    before = snapshot(player)

    again = post(client, "/api/battle-pass/claim", {"tier": 1, "track": "free"}, key="bp-key-0002")

    assert first.status_code == 200
    assert first.json() == {
        "season": "s1",
        "tier": 1,
        "track": "free",
        "reward_gold": 100,
        "reward_item": None,
        "balance": 10_100,
    }
    assert replay.content == first.content
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_claimed"
    assert snapshot(player) == before
    assert ledger(player, "battle_pass_reward") == [(100, "battle_pass_reward")]
    tiers = client.get("/api/battle-pass").json()["tiers"]
    assert (tiers[0]["free"]["claimed"], tiers[0]["free"]["claimable"]) == (True, False)


@pytest.mark.django_db
def test_a_locked_tier_cannot_be_claimed(player, season):
    before = snapshot(player)

    response = post(client_of(player), "/api/battle-pass/claim", {"tier": 2, "track": "free"})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "tier_locked"
    assert response.json()["error"]["details"] == {"xp": 0, "xp_required": 20}
    assert snapshot(player) == before


@pytest.mark.django_db
def test_premium_track_is_refused_without_the_shop_item_and_paid_with_it(player, season):
    SeasonProgress.objects.create(user=player, season=season, xp=20)
    client = client_of(player)
    before = snapshot(player)

    refused = post(client, "/api/battle-pass/claim", {"tier": 2, "track": "premium"})

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "premium_required"
    assert refused.json()["error"]["details"] == {"item_code": "battle_pass_premium:s1"}
    assert snapshot(player) == before

    inventory_add(player.pk, "battle_pass_premium:s1")  # what the shop product grants
    paid = post(client, "/api/battle-pass/claim", {"tier": 2, "track": "premium"})
    free = post(client, "/api/battle-pass/claim", {"tier": 2, "track": "free"})

    assert paid.status_code == free.status_code == 200
    assert (paid.json()["reward_gold"], paid.json()["reward_item"]) == (500, "avatar_dragon")
    assert ledger(player, "battle_pass_reward") == [(500, "battle_pass_reward")]
    assert set(InventoryItem.objects.filter(user=player).values_list("item_code", "quantity")) == {
        ("battle_pass_premium:s1", 1),
        ("avatar_dragon", 1),
        ("frame_gold", 1),
    }
    assert client.get("/api/battle-pass").json()["premium_unlocked"] is True


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"tier": 9, "track": "free"}, 404, "tier_not_found"),
        ({"tier": 1, "track": "gold"}, 400, "validation_error"),
        ({"tier": "1", "track": "free"}, 400, "validation_error"),
        ({"tier": 0, "track": "free"}, 400, "validation_error"),
        ({"tier": 1, "track": "free", "user_id": 1}, 400, "validation_error"),
    ],
)
@pytest.mark.django_db
def test_invalid_claims_change_nothing(player, season, body, status, code):
    before = snapshot(player)

    response = post(client_of(player), "/api/battle-pass/claim", body)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert snapshot(player) == before
