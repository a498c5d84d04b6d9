"""One admin form per game for a configuration draft: reels and paytable, rarity table and pity,
crash edge, the RPS payout, and for every game the bet range and daily limits by rank.

Each form is filled from a stored version and turns its fields back into the engine's JSON
(``engine_data``); the engine validates it (``games.selectors.config_odds``).
"""

from __future__ import annotations

from typing import Any

from django import forms

from games.engine.gacha import RARITIES
from games.models import Game, GameConfig

RANKS = ("STANDARD", "PREMIUM", "VIP")
REEL_COUNT = 3
SPARE_ROWS = 2


class ConfigDraftForm(forms.Form):
    """The fields every game has; subclasses add the engine's."""

    min_bet = forms.IntegerField(min_value=1, max_value=10**9, label="Minimum bet (gold)")
    max_bet = forms.IntegerField(min_value=1, max_value=10**9, label="Maximum bet (gold)")
    note = forms.CharField(max_length=200, label="Why this change", help_text="Required; audited.")

    def __init__(self, data: Any = None, *, base: GameConfig) -> None:
        initial = {"min_bet": base.min_bet, "max_bet": base.max_bet, "note": ""}
        for rank in RANKS:
            initial[f"limit_{rank}"] = (base.daily_limits or {}).get(rank, 0)
        initial.update(self.engine_initial(base.engine))
        super().__init__(data, initial=initial)
        for rank in RANKS:
            self.fields[f"limit_{rank}"] = forms.IntegerField(
                min_value=0, max_value=100_000, label=f"Rounds per day, {rank}",
                help_text="0 = unlimited.",
            )  # fmt: skip
        self.add_engine_fields(base.engine)

    # Subclasses ---------------------------------------------------------------
    def engine_initial(self, engine: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def add_engine_fields(self, engine: dict[str, Any]) -> None:
        raise NotImplementedError

    def engine_data(self) -> dict[str, Any]:
        raise NotImplementedError

    # --------------------------------------------------------------------------
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("min_bet"), data.get("max_bet")
        if low is not None and high is not None and low > high:
            self.add_error("max_bet", "The maximum bet must be at least the minimum bet.")
        return data

    def daily_limits(self) -> dict[str, int]:
        return {rank: self.cleaned_data[f"limit_{rank}"] for rank in RANKS}

    def row_names(self, prefix: str) -> list[str]:
        """Field names of a table's rows, for the template."""
        return [name for name in self.fields if name.startswith(prefix)]


def _int(required: bool = False, minimum: int = 0, label: str = "") -> forms.IntegerField:
    return forms.IntegerField(
        required=required, min_value=minimum, max_value=10**9, label=label or None
    )


class SlotConfigForm(ConfigDraftForm):
    """One row per symbol: its weight on each reel (0 or empty: not on that reel) and what three
    of a kind and a pair pay, in hundredths of the bet (empty: nothing)."""

    def _symbols(self, engine: dict[str, Any]) -> list[str]:
        seen: dict[str, None] = {}
        for reel in engine.get("reels", []):
            for symbol, _ in reel:
                seen.setdefault(symbol)
        return list(seen)

    def engine_initial(self, engine: dict[str, Any]) -> dict[str, Any]:
        initial: dict[str, Any] = {}
        reels = [dict((s, w) for s, w in reel) for reel in engine.get("reels", [])]
        for row, symbol in enumerate(self._symbols(engine)):
            initial[f"symbol_{row}"] = symbol
            for reel in range(REEL_COUNT):
                initial[f"reel{reel + 1}_{row}"] = (
                    reels[reel].get(symbol, 0) if reel < len(reels) else 0
                )
            initial[f"triple_{row}"] = engine.get("three_of_a_kind", {}).get(symbol)
            initial[f"pair_{row}"] = engine.get("pair", {}).get(symbol)
        return initial

    def add_engine_fields(self, engine: dict[str, Any]) -> None:
        self.rows = len(self._symbols(engine)) + SPARE_ROWS
        for row in range(self.rows):
            self.fields[f"symbol_{row}"] = forms.CharField(max_length=32, required=False)
            for reel in range(REEL_COUNT):
                self.fields[f"reel{reel + 1}_{row}"] = _int()
            self.fields[f"triple_{row}"] = _int()
            self.fields[f"pair_{row}"] = _int()

    def table(self) -> list[list[Any]]:
        """Bound fields row by row: symbol, reel weights, three of a kind, pair."""
        names = ["symbol", *(f"reel{r + 1}" for r in range(REEL_COUNT)), "triple", "pair"]
        return [[self[f"{name}_{row}"] for name in names] for row in range(self.rows)]

    def engine_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        reels: list[list[list[Any]]] = [[] for _ in range(REEL_COUNT)]
        triple: dict[str, int] = {}
        pair: dict[str, int] = {}
        for row in range(self.rows):
            symbol = (data.get(f"symbol_{row}") or "").strip().upper()
            if not symbol:
                continue
            for reel in range(REEL_COUNT):
                weight = data.get(f"reel{reel + 1}_{row}") or 0
                if weight:
                    reels[reel].append([symbol, weight])
            if data.get(f"triple_{row}") is not None:
                triple[symbol] = data[f"triple_{row}"]
            if data.get(f"pair_{row}") is not None:
                pair[symbol] = data[f"pair_{row}"]
        return {"reels": reels, "three_of_a_kind": triple, "pair": pair}


class GachaConfigForm(ConfigDraftForm):
    """Rarity weights, one row per reward (rarity, gold, item, weight), item values for RTP, the
    pity threshold and the prices."""

    def engine_initial(self, engine: dict[str, Any]) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "pity_threshold": engine.get("pity_threshold"),
            "price": engine.get("price"),
            "ten_pull_price": engine.get("ten_pull_price"),
        }
        row = 0
        for rarity in engine.get("rarities", []):
            initial[f"weight_{rarity['name']}"] = rarity["weight"]
            for reward in rarity["rewards"]:
                initial[f"reward_rarity_{row}"] = rarity["name"]
                initial[f"reward_gold_{row}"] = reward.get("gold", 0)
                initial[f"reward_item_{row}"] = reward.get("item") or ""
                initial[f"reward_weight_{row}"] = reward["weight"]
                row += 1
        for index, (item, value) in enumerate(engine.get("item_values", {}).items()):
            initial[f"item_code_{index}"] = item
            initial[f"item_value_{index}"] = value
        return initial

    def add_engine_fields(self, engine: dict[str, Any]) -> None:
        self.fields["pity_threshold"] = _int(
            True, 1, "Pity: an epic or better at the latest on pull"
        )
        self.fields["price"] = _int(True, 1, "Price of one pull (gold)")
        self.fields["ten_pull_price"] = _int(True, 1, "Price of ten pulls (gold)")
        for name in RARITIES:
            self.fields[f"weight_{name}"] = _int(True, 0, f"Weight of {name}")
        rewards = sum(len(rarity["rewards"]) for rarity in engine.get("rarities", []))
        self.reward_rows = rewards + SPARE_ROWS + 1
        choices = [("", "—"), *((name, name) for name in RARITIES)]
        for row in range(self.reward_rows):
            self.fields[f"reward_rarity_{row}"] = forms.ChoiceField(choices=choices, required=False)
            self.fields[f"reward_gold_{row}"] = _int()
            self.fields[f"reward_item_{row}"] = forms.CharField(max_length=64, required=False)
            self.fields[f"reward_weight_{row}"] = _int()
        self.item_rows = len(engine.get("item_values", {})) + SPARE_ROWS
        for row in range(self.item_rows):
            self.fields[f"item_code_{row}"] = forms.CharField(max_length=64, required=False)
            self.fields[f"item_value_{row}"] = _int()

    def reward_table(self) -> list[list[Any]]:
        names = ("reward_rarity", "reward_gold", "reward_item", "reward_weight")
        return [[self[f"{name}_{row}"] for name in names] for row in range(self.reward_rows)]

    def item_table(self) -> list[list[Any]]:
        return [
            [self[f"item_code_{row}"], self[f"item_value_{row}"]] for row in range(self.item_rows)
        ]

    def engine_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        rewards: dict[str, list[dict[str, Any]]] = {name: [] for name in RARITIES}
        for row in range(self.reward_rows):
            rarity = data.get(f"reward_rarity_{row}")
            if not rarity:
                continue
            item = (data.get(f"reward_item_{row}") or "").strip() or None
            rewards[rarity].append(
                {"gold": data.get(f"reward_gold_{row}") or 0, "item": item,
                 "weight": data.get(f"reward_weight_{row}") or 0}
            )  # fmt: skip
        item_values = {}
        for row in range(self.item_rows):
            code = (data.get(f"item_code_{row}") or "").strip()
            if code:
                item_values[code] = data.get(f"item_value_{row}") or 0
        return {
            "rarities": [
                {"name": name, "weight": data[f"weight_{name}"], "rewards": rewards[name]}
                for name in RARITIES
                if rewards[name] or data[f"weight_{name}"]
            ],
            "pity_threshold": data["pity_threshold"],
            "price": data["price"],
            "ten_pull_price": data["ten_pull_price"],
            "item_values": item_values,
        }


class CrashConfigForm(ConfigDraftForm):
    def engine_initial(self, engine: dict[str, Any]) -> dict[str, Any]:
        return {
            key: engine.get(key)
            for key in ("house_edge_bp", "max_multiplier_x100", "growth_per_ms")
        }

    def add_engine_fields(self, engine: dict[str, Any]) -> None:
        self.fields["house_edge_bp"] = forms.IntegerField(
            min_value=1, max_value=9_999, label="House edge (basis points)",
            help_text="100 = 1% (RTP 99%).",
        )  # fmt: skip
        self.fields["max_multiplier_x100"] = forms.IntegerField(
            min_value=101, max_value=10**9, label="Highest multiplier (hundredths)"
        )
        self.fields["growth_per_ms"] = forms.FloatField(
            min_value=0.000_000_1, max_value=1.0, label="Growth per millisecond",
            help_text="The multiplier t ms in is e^(growth × t).",
        )  # fmt: skip

    def engine_data(self) -> dict[str, Any]:
        return {
            key: self.cleaned_data[key]
            for key in ("house_edge_bp", "max_multiplier_x100", "growth_per_ms")
        }


class RpsConfigForm(ConfigDraftForm):
    def engine_initial(self, engine: dict[str, Any]) -> dict[str, Any]:
        return {"win_multiplier_x100": engine.get("win_multiplier_x100")}

    def add_engine_fields(self, engine: dict[str, Any]) -> None:
        self.fields["win_multiplier_x100"] = forms.IntegerField(
            min_value=101, max_value=10_000, label="A win pays (hundredths of the bet)"
        )

    def engine_data(self) -> dict[str, Any]:
        return {"win_multiplier_x100": self.cleaned_data["win_multiplier_x100"]}


FORMS: dict[str, type[ConfigDraftForm]] = {
    Game.SLOT: SlotConfigForm,
    Game.GACHA: GachaConfigForm,
    Game.CRASH: CrashConfigForm,
    Game.RPS: RpsConfigForm,
}
