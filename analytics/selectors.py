"""Reads of the analytics rollups by day range: what dashboards, CSV downloads and the economy
page show. Every read is one indexed range over a rollup table (never the raw rows), and the
derived ratios (stickiness, ARPDAU, RTP …) are computed here from the stored counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Model

from analytics.models import (
    DailyActivity,
    FunnelDaily,
    GameDaily,
    GoldFlowDaily,
    ProgressDaily,
    RetentionCohort,
    RevenueDaily,
    RollupRun,
)


def _ratio(numerator: float | None, denominator: float | None, digits: int = 4) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, digits)


def _activity(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "stickiness": _ratio(row["dau"], row["mau"]),
        "sessions_per_player": _ratio(row["sessions"], row["dau"], 2),
    }


def _retention(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        **{f"d{n}_rate": _ratio(row[f"d{n}"], row["players"]) for n in (1, 7, 30)},
    }


def _funnel(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "paid_rate": _ratio(row["paid"], row["attempted"])}


def _revenue(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "arpdau": _ratio(row["net"], row["dau"], 2),
        "arppu": _ratio(row["net"], row["payers"], 2),
        "first_purchase_conversion": _ratio(row["first_payers"], row["dau"]),
    }


def _games(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "rtp": _ratio(row["payout"], row["bet"])}


def _progress(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "completion_rate": _ratio(row["completed"], row["joined"])}


@dataclass(frozen=True)
class RollupTable:
    """One rollup as shown and exported: its stored columns, then the derived ones."""

    name: str
    title: str
    model: type[Model]
    day_field: str
    key: tuple[str, ...]  # the columns after the day that make a row unique
    stored: tuple[str, ...]
    derived: tuple[str, ...]
    derive: Callable[[dict[str, Any]], dict[str, Any]]

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.day_field, *self.key, *self.stored, *self.derived)


ROLLUP_TABLES: dict[str, RollupTable] = {
    table.name: table
    for table in (
        RollupTable("activity", "Active players", DailyActivity, "day", (),
                    ("dau", "wau", "mau", "new_players", "sessions", "shop_viewers"),
                    ("stickiness", "sessions_per_player"), _activity),
        RollupTable("retention", "Retention by signup day", RetentionCohort, "signup_day", (),
                    ("players", "d1", "d7", "d30"), ("d1_rate", "d7_rate", "d30_rate"),
                    _retention),
        RollupTable("funnel", "Purchase funnel", FunnelDaily, "day", ("product",),
                    ("viewed", "attempted", "attempted_players", "paid", "settled"),
                    ("paid_rate",), _funnel),
        RollupTable("revenue", "Revenue per currency", RevenueDaily, "day", ("currency",),
                    ("sales", "refunds", "net", "payers", "first_payers", "dau"),
                    ("arpdau", "arppu", "first_purchase_conversion"), _revenue),
        RollupTable("gold", "Gold faucets and sinks", GoldFlowDaily, "day", ("reason",),
                    ("minted", "burned", "entries"), (), dict),
        RollupTable("games", "Games", GameDaily, "day", ("game",),
                    ("players", "rounds", "bet", "payout"), ("rtp",), _games),
        RollupTable("progress", "Events and missions", ProgressDaily, "day",
                    ("kind", "ref_id"), ("name", "joined", "completed", "claimed"),
                    ("completion_rate",), _progress),
    )
}  # fmt: skip


def rollup_rows(table: RollupTable, start: date, end: date) -> list[dict[str, Any]]:
    """The rows of ``table`` for days in [start, end], by day then key, with derived columns."""
    rows = (
        table.model._default_manager.filter(
            **{f"{table.day_field}__gte": start, f"{table.day_field}__lte": end}
        )
        .order_by(table.day_field, *table.key)
        .values(table.day_field, *table.key, *table.stored)
    )
    return [table.derive(dict(row)) for row in rows]


def dau_by_day(start: date, end: date) -> dict[date, int]:
    """Active players per day in [start, end] (days not rolled up yet are missing)."""
    return dict(
        DailyActivity.objects.filter(day__gte=start, day__lte=end).values_list("day", "dau")
    )


def rollup_last_run(start: date, end: date) -> Any:
    """When the most recent rollup of a day in [start, end] ran (None: none did)."""
    run = RollupRun.objects.filter(day__gte=start, day__lte=end).order_by("-computed_at").first()
    return None if run is None else run.computed_at
