"""Gacha pulls: a rarity table with a pity guarantee, then a reward within the rarity.

Every reward grants gold and/or an item, so no pull grants nothing. ``pity`` counts the pulls
since the last epic-or-better; the pull that would make it reach ``pity_threshold`` draws only
among epic and legendary. Any epic-or-better, natural or forced, resets it to 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from games.engine._checks import parse, require_int, require_list, require_mapping
from games.engine.fair import FairRng
from games.engine.odds import Odds, OutcomeProbability, percent

RarityName = Literal["common", "rare", "epic", "legendary"]
RARITIES: tuple[str, ...] = ("common", "rare", "epic", "legendary")
PITY_RARITIES: frozenset[str] = frozenset({"epic", "legendary"})
MAX_PITY_THRESHOLD = 1000


@dataclass(frozen=True)
class GachaReward:
    gold: int
    item: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"gold": self.gold, "item": self.item}


@dataclass(frozen=True)
class GachaRarity:
    name: RarityName
    weight: int
    rewards: tuple[tuple[GachaReward, int], ...]


@dataclass(frozen=True)
class GachaConfig:
    rarities: tuple[GachaRarity, ...]
    pity_threshold: int
    price: int
    ten_pull_price: int
    item_values: Mapping[str, int]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GachaConfig:
        """Parse and validate the JSON form (see ``to_dict``); raises ValueError."""

        def build() -> GachaConfig:
            body = require_mapping(data, "gacha configuration")
            rarities = []
            for entry in require_list(body["rarities"], "rarities"):
                rarity = require_mapping(entry, "a rarity")
                rewards = tuple(
                    (
                        GachaReward(
                            gold=require_mapping(reward, "a reward").get("gold", 0),
                            item=reward.get("item"),
                        ),
                        reward["weight"],
                    )
                    for reward in require_list(rarity["rewards"], "rewards")
                )
                rarities.append(
                    GachaRarity(name=rarity["name"], weight=rarity["weight"], rewards=rewards)
                )
            return cls(
                rarities=tuple(rarities),
                pity_threshold=body["pity_threshold"],
                price=body["price"],
                ten_pull_price=body["ten_pull_price"],
                item_values=dict(require_mapping(body["item_values"], "item_values")),
            )

        config = parse(build, "gacha")
        config.validate()
        return config

    def to_dict(self) -> dict[str, Any]:
        return {
            "rarities": [
                {
                    "name": rarity.name,
                    "weight": rarity.weight,
                    "rewards": [
                        {"gold": reward.gold, "item": reward.item, "weight": weight}
                        for reward, weight in rarity.rewards
                    ],
                }
                for rarity in self.rarities
            ],
            "pity_threshold": self.pity_threshold,
            "price": self.price,
            "ten_pull_price": self.ten_pull_price,
            "item_values": dict(self.item_values),
        }

    def reward_value(self, reward: GachaReward) -> int:
        """Gold plus the item's internal gold value: the validation bound, never published."""
        return reward.gold + (self.item_values[reward.item] if reward.item is not None else 0)

    def validate(self) -> None:
        """Raise ValueError unless the table is well formed, every reward grants something, an
        epic-or-better can be drawn, and both the single and the ten-pull RTP stay below 100%."""
        require_int(self.pity_threshold, "pity_threshold", minimum=1)
        if self.pity_threshold > MAX_PITY_THRESHOLD:
            raise ValueError(f"pity_threshold must be at most {MAX_PITY_THRESHOLD}")
        require_int(self.price, "price", minimum=1)
        require_int(self.ten_pull_price, "ten_pull_price", minimum=1)
        for item, value in self.item_values.items():
            if not isinstance(item, str) or not item:
                raise ValueError(f"item codes are non-empty strings, got {item!r}")
            require_int(value, f"item value of {item}", minimum=0)
        if not self.rarities:
            raise ValueError("the rarity table is empty")
        names = [rarity.name for rarity in self.rarities]
        if len(set(names)) != len(names):
            raise ValueError("a rarity is listed twice")
        for rarity in self.rarities:
            if rarity.name not in RARITIES:
                raise ValueError(f"unknown rarity {rarity.name!r}: expected one of {RARITIES}")
            require_int(rarity.weight, f"weight of {rarity.name}", minimum=0)
            if not rarity.rewards:
                raise ValueError(f"{rarity.name} has no rewards")
            for reward, weight in rarity.rewards:
                require_int(weight, f"{rarity.name} reward weight", minimum=1)
                require_int(reward.gold, f"{rarity.name} reward gold", minimum=0)
                if reward.item is not None and reward.item not in self.item_values:
                    raise ValueError(
                        f"{rarity.name}: item {reward.item!r} has no item_values entry"
                    )
                if reward.gold == 0 and reward.item is None:
                    raise ValueError(f"{rarity.name}: a reward must grant gold or an item")
        if sum(rarity.weight for rarity in self.rarities) == 0:
            raise ValueError("the rarity weights add up to 0")
        if sum(rarity.weight for rarity in self.rarities if rarity.name in PITY_RARITIES) == 0:
            raise ValueError("epic and legendary weights add up to 0: pity could never be paid")
        value_per_pull = gacha_value_per_pull(self)
        if value_per_pull >= self.price or value_per_pull * 10 >= self.ten_pull_price:
            raise ValueError("expected value per pull must stay below both prices (RTP < 100%)")


@dataclass(frozen=True)
class GachaPull:
    rarity: str
    reward: GachaReward
    pity_before: int
    pity_after: int
    was_pity: bool


def gacha_pull(config: GachaConfig, rng: FairRng, pity: int) -> GachaPull:
    """One pull: the rarity (``weighted_index`` over the table, or over epic/legendary only when
    ``pity + 1 >= pity_threshold``), then the reward (``weighted_index`` within the rarity)."""
    if pity < 0:
        raise ValueError("pity must be non-negative")
    is_forced = pity + 1 >= config.pity_threshold
    candidates = [
        rarity for rarity in config.rarities if not is_forced or rarity.name in PITY_RARITIES
    ]
    rarity = candidates[rng.weighted_index([candidate.weight for candidate in candidates])]
    reward, _ = rarity.rewards[rng.weighted_index([weight for _, weight in rarity.rewards])]
    return GachaPull(
        rarity=rarity.name,
        reward=reward,
        pity_before=pity,
        pity_after=0 if rarity.name in PITY_RARITIES else pity + 1,
        was_pity=is_forced,
    )


def _rarity_rates(rarities: list[GachaRarity]) -> dict[str, Fraction]:
    total = sum(rarity.weight for rarity in rarities)
    return {rarity.name: Fraction(rarity.weight, total) for rarity in rarities}


def _epic_or_better_rate(config: GachaConfig) -> Fraction:
    rates = _rarity_rates(list(config.rarities))
    return sum((rate for name, rate in rates.items() if name in PITY_RARITIES), Fraction(0))


def gacha_pity_share(config: GachaConfig) -> Fraction:
    """Long-run share of pulls that are forced by pity: the last state of the chain below,
    ``r**(N-1) * (1 - r) / (1 - r**N)`` with ``r = 1 - q`` (``1 / N`` when q = 0)."""
    miss, states = 1 - _epic_or_better_rate(config), config.pity_threshold
    if miss == 1:
        return Fraction(1, states)
    return miss ** (states - 1) * (1 - miss) / (1 - miss**states)


def gacha_pity_distribution(config: GachaConfig) -> list[Fraction]:
    """Long-run share of pulls made at each pity state 0..N-1 (the chain's stationary law).

    From a non-forced state p the chain moves to 0 with the epic-or-better rate q, else to p+1;
    the last state always moves to 0. So pi_p is proportional to (1 - q)**p.
    """
    miss = 1 - _epic_or_better_rate(config)
    weights = [miss**state for state in range(config.pity_threshold)]
    total = sum(weights, Fraction(0))
    return [weight / total for weight in weights]


def gacha_effective_rates(config: GachaConfig) -> dict[str, Fraction]:
    """Long-run share of pulls landing on each rarity, forced pity pulls included."""
    base = _rarity_rates(list(config.rarities))
    forced = _rarity_rates([r for r in config.rarities if r.name in PITY_RARITIES])
    forced_share = gacha_pity_share(config)
    return {
        name: (1 - forced_share) * rate + forced_share * forced.get(name, Fraction(0))
        for name, rate in base.items()
    }


def _reward_probabilities(config: GachaConfig) -> list[tuple[str, GachaReward, Fraction]]:
    effective = gacha_effective_rates(config)
    rows: list[tuple[str, GachaReward, Fraction]] = []
    for rarity in config.rarities:
        reward_total = sum(weight for _, weight in rarity.rewards)
        for reward, weight in rarity.rewards:
            rows.append(
                (rarity.name, reward, effective[rarity.name] * Fraction(weight, reward_total))
            )
    return rows


def gacha_value_per_pull(config: GachaConfig) -> Fraction:
    """Long-run expected gold plus item value per pull."""
    return sum(
        (
            probability * config.reward_value(reward)
            for _, reward, probability in _reward_probabilities(config)
        ),
        Fraction(0),
    )


def gacha_gold_per_pull(config: GachaConfig) -> Fraction:
    """Long-run expected gold per pull: the return a player can spend (items are not gold)."""
    return sum(
        (probability * reward.gold for _, reward, probability in _reward_probabilities(config)),
        Fraction(0),
    )


def gacha_item_drop_rates(config: GachaConfig) -> dict[str, Fraction]:
    """Long-run probability that a pull grants each item (pity included), by item code."""
    rates: dict[str, Fraction] = {}
    for _, reward, probability in _reward_probabilities(config):
        if reward.item is not None:
            rates[reward.item] = rates.get(reward.item, Fraction(0)) + probability
    return rates


def _reward_label(rarity: str, reward: GachaReward) -> str:
    parts = [f"{reward.gold} gold"] if reward.gold else []
    if reward.item is not None:
        parts.append(reward.item)
    return f"{rarity}: {' + '.join(parts)}"


def gacha_odds(config: GachaConfig) -> Odds:
    """Long-run odds per pull, pity included; ``extra`` also gives the base (published) rates.

    The return to player counts **gold only**: an item cannot be sold back, so it is disclosed
    by its drop rate (``extra["item_drop_rates"]``) and never at a gold value
    (docs/decisions/0200-gacha-return-in-gold-only.md). RTP is expected gold per pull over
    ``price``; a hit is a pull paying more gold than ``price``; multipliers are
    ``gold * 100 // price``.
    """
    base = _rarity_rates(list(config.rarities))
    effective = gacha_effective_rates(config)
    rows = _reward_probabilities(config)
    gold_per_pull = gacha_gold_per_pull(config)
    ten_pull_rtp = gold_per_pull * 10 / config.ten_pull_price
    item_rates = gacha_item_drop_rates(config)
    return Odds(
        rtp=gold_per_pull / config.price,
        hit_rate=sum((p for _, reward, p in rows if reward.gold > config.price), Fraction(0)),
        outcomes=[
            OutcomeProbability(
                _reward_label(rarity, reward), probability, reward.gold * 100 // config.price
            )
            for rarity, reward, probability in rows
        ],
        extra={
            "base_rates": {name: float(rate) for name, rate in base.items()},
            "effective_rates": {name: float(rate) for name, rate in effective.items()},
            "base_rates_exact": {name: str(rate) for name, rate in base.items()},
            "effective_rates_exact": {name: str(rate) for name, rate in effective.items()},
            "pity_threshold": config.pity_threshold,
            "pity_share_of_pulls": float(gacha_pity_share(config)),
            "price": config.price,
            "ten_pull_price": config.ten_pull_price,
            "expected_gold_per_pull": float(gold_per_pull),
            "ten_pull_rtp": float(ten_pull_rtp),
            "ten_pull_rtp_percent": percent(ten_pull_rtp),
            "item_drop_rates": [
                {
                    "item": item,
                    "probability": float(rate),
                    "probability_exact": str(rate),
                    "probability_percent": percent(rate, 4),
                }
                for item, rate in item_rates.items()
            ],
        },
    )


def _gold(gold: int) -> GachaReward:
    return GachaReward(gold=gold, item=None)


# Published rates 70 / 22 / 6.5 / 1.5 %, pity at the 50th pull. Items are disclosed by drop rate;
# the gold return is the published RTP (exact figures: gacha_odds). ``item_values`` is an internal
# bound for validation (gold plus items must stay below the price), never shown to players.
DEFAULT_GACHA_CONFIG = GachaConfig(
    rarities=(
        GachaRarity(
            name="common",
            weight=7000,
            rewards=(
                (_gold(30), 60),
                (_gold(40), 30),
                (GachaReward(gold=0, item="frame_bronze"), 10),
            ),
        ),
        GachaRarity(
            name="rare",
            weight=2200,
            rewards=(
                (_gold(110), 50),
                (GachaReward(gold=0, item="emote_lucky_cat"), 30),
                (GachaReward(gold=60, item="frame_silver"), 20),
            ),
        ),
        GachaRarity(
            name="epic",
            weight=650,
            rewards=(
                (_gold(280), 50),
                (GachaReward(gold=0, item="card_back_royal"), 30),
                (GachaReward(gold=100, item="frame_gold"), 20),
            ),
        ),
        GachaRarity(
            name="legendary",
            weight=150,
            rewards=(
                (GachaReward(gold=0, item="skin_golden_dragon"), 40),
                (_gold(800), 40),
                (GachaReward(gold=200, item="skin_jade_tiger"), 20),
            ),
        ),
    ),
    pity_threshold=50,
    price=100,
    ten_pull_price=950,
    item_values={
        "frame_bronze": 50,
        "emote_lucky_cat": 150,
        "frame_silver": 100,
        "card_back_royal": 400,
        "frame_gold": 300,
        "skin_golden_dragon": 1200,
        "skin_jade_tiger": 800,
    },
)
