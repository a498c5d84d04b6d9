"""Gacha engine: draw order, pity guarantee and reset, exact long-run odds, every pull grants."""

from fractions import Fraction

import pytest

from games.engine import (
    DEFAULT_GACHA_CONFIG,
    FairRng,
    GachaConfig,
    GachaReward,
    gacha_odds,
    gacha_pull,
)
from games.engine.gacha import gacha_effective_rates, gacha_pity_distribution, gacha_pity_share

SEED = bytes(range(32))
CLIENT = "casino-club"
CONFIG = DEFAULT_GACHA_CONFIG
EPIC_OR_BETTER = {"epic", "legendary"}


def pull(nonce, pity=0, config=CONFIG):
    return gacha_pull(config, FairRng(SEED, CLIENT, nonce), pity)


def test_known_pulls():
    assert [(p.rarity, p.reward) for p in (pull(n) for n in range(4))] == [
        ("common", GachaReward(gold=40, item=None)),
        ("common", GachaReward(gold=30, item=None)),
        ("common", GachaReward(gold=30, item=None)),
        ("rare", GachaReward(gold=0, item="emote_lucky_cat")),
    ]
    forced = pull(0, pity=49)
    assert (forced.rarity, forced.reward, forced.was_pity) == (
        "epic",
        GachaReward(gold=0, item="card_back_royal"),
        True,
    )


def test_rarity_then_reward_from_consecutive_draws():
    rng = FairRng(SEED, CLIENT, 3)
    rarity = CONFIG.rarities[rng.weighted_index([r.weight for r in CONFIG.rarities])]
    reward = rarity.rewards[rng.weighted_index([w for _, w in rarity.rewards])][0]

    result = pull(3)

    assert (result.rarity, result.reward) == (rarity.name, reward)


def test_pity_guarantees_epic_or_better_at_the_threshold():
    for nonce in range(500):
        for pity in (49, 50, 80):  # at the threshold, and above it after a config change
            result = pull(nonce, pity)
            assert result.rarity in EPIC_OR_BETTER
            assert result.was_pity
            assert result.pity_after == 0
            assert result.pity_before == pity


def test_pity_counts_up_and_resets_on_a_natural_epic_or_better():
    results = [pull(nonce, pity=10) for nonce in range(300)]

    naturals = [r for r in results if r.rarity in EPIC_OR_BETTER]
    others = [r for r in results if r.rarity not in EPIC_OR_BETTER]
    assert naturals
    assert others
    assert all(r.pity_after == 0 and not r.was_pity for r in naturals)
    assert all(r.pity_after == 11 and not r.was_pity for r in others)
    assert not pull(0, pity=48).was_pity


def test_chained_pulls_never_go_more_than_threshold_without_epic():
    pity, longest, current = 0, 0, 0
    for nonce in range(20_000):
        result = pull(nonce, pity)
        assert result.pity_before == pity
        pity = result.pity_after
        current = 0 if result.rarity in EPIC_OR_BETTER else current + 1
        longest = max(longest, current)
    assert longest <= CONFIG.pity_threshold - 1


def test_every_pull_grants_something():
    for rarity in CONFIG.rarities:
        for reward, _ in rarity.rewards:
            assert reward.gold > 0 or reward.item is not None
            assert CONFIG.reward_value(reward) > 0
    for nonce in range(2_000):
        reward = pull(nonce, pity=nonce % 50).reward
        assert reward.gold > 0 or reward.item is not None


def test_negative_pity_is_refused():
    with pytest.raises(ValueError, match="pity must be non-negative"):
        pull(0, pity=-1)


def test_stationary_pity_distribution_solves_the_chain_exactly():
    pi = gacha_pity_distribution(CONFIG)
    q = Fraction(800, 10_000)
    n = CONFIG.pity_threshold

    assert len(pi) == n
    assert sum(pi) == 1
    assert pi[0] == sum(pi[:-1]) * q + pi[-1]  # into state 0: a natural hit or the forced pull
    assert all(pi[p + 1] == pi[p] * (1 - q) for p in range(n - 1))
    assert gacha_pity_share(CONFIG) == pi[-1]


def test_default_odds_publish_base_and_effective_rates():
    odds = gacha_odds(CONFIG)
    effective = gacha_effective_rates(CONFIG)

    assert odds.extra["base_rates"] == {
        "common": 0.7,
        "rare": 0.22,
        "epic": 0.065,
        "legendary": 0.015,
    }
    assert sum(effective.values()) == 1
    assert effective["epic"] + effective["legendary"] > Fraction(8, 100)
    assert effective["common"] < Fraction(7, 10)
    assert sum(o.probability for o in odds.outcomes) == 1
    assert odds.extra["ten_pull_rtp"] < 1
    # the return counts gold only: items cannot be sold back, so they carry no gold value
    assert (
        odds.rtp
        == sum(
            effective[r.name] * Fraction(w, sum(x for _, x in r.rewards)) * reward.gold
            for r in CONFIG.rarities
            for reward, w in r.rewards
        )
        / CONFIG.price
    )
    assert odds.to_dict()["rtp_percent"] == "51.74%"
    assert "item_values" not in odds.extra
    assert sum(Fraction(row["probability_exact"]) for row in odds.extra["item_drop_rates"]) == sum(
        effective[r.name] * Fraction(w, sum(x for _, x in r.rewards))
        for r in CONFIG.rarities
        for reward, w in r.rewards
        if reward.item is not None
    )


def test_pity_one_makes_every_pull_epic_or_better():
    data = CONFIG.to_dict() | {"pity_threshold": 1, "price": 1000, "ten_pull_price": 9500}
    config = GachaConfig.from_dict(data)

    assert gacha_effective_rates(config)["common"] == 0
    assert all(pull(n, pity=0, config=config).rarity in EPIC_OR_BETTER for n in range(100))


def test_config_round_trips_through_json_form():
    data = CONFIG.to_dict()

    assert data["rarities"][0]["rewards"][0] == {"gold": 30, "item": None, "weight": 60}
    assert GachaConfig.from_dict(data) == CONFIG


def _with_reward(reward):
    data = CONFIG.to_dict()
    data["rarities"][0]["rewards"].append(reward)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_with_reward({"gold": 0, "item": None, "weight": 5}), "must grant gold or an item"),
        (_with_reward({"gold": 5, "item": "unknown_item", "weight": 5}), "no item_values entry"),
        (_with_reward({"gold": -5, "item": None, "weight": 5}), "at least 0"),
        (_with_reward({"gold": 5, "item": None, "weight": 0}), "at least 1"),
        (CONFIG.to_dict() | {"pity_threshold": 0}, "at least 1"),
        (CONFIG.to_dict() | {"price": 10}, "below both prices"),
        (CONFIG.to_dict() | {"ten_pull_price": 500}, "below both prices"),
        (CONFIG.to_dict() | {"rarities": []}, "empty"),
        (
            CONFIG.to_dict() | {"rarities": CONFIG.to_dict()["rarities"][:2]},
            "pity could never be paid",
        ),
        (
            CONFIG.to_dict() | {"rarities": [CONFIG.to_dict()["rarities"][0] | {"name": "mythic"}]},
            "unknown rarity",
        ),
        ({"rarities": [{"name": "common"}]}, "malformed gacha"),
    ],
)
def test_invalid_configurations_raise_a_clear_value_error(data, message):
    with pytest.raises(ValueError, match=message):
        GachaConfig.from_dict(data)
