"""Facts other apps react to, appended to the event log in the transaction that made them true.

Games and the shop announce what a player did; progression (events, missions, achievements, XP,
stats) is a projection of the log (``casinoclub.projections``), applied in batches after the
money transaction commits; a reversed purchase is announced too, so projections take back what
they had counted. The writer never imports a projection, so dependencies keep pointing one way.
``domain_event_record(fact)`` appends one fact; ``fact_of(event)`` reads one back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from casinoclub.eventlog import EventType, domain_event_append, domain_event_row


@dataclass(frozen=True)
class RoundSettled:
    user_id: int
    round_id: int
    game: str
    bet: int
    payout: int
    multiplier_x100: int


@dataclass(frozen=True)
class PurchaseSucceeded:
    user_id: int
    receipt: str
    flow: str
    product_code: str | None
    price_cents: int
    price_gold: int
    gold: int


@dataclass(frozen=True)
class PurchaseReversed:
    """A successful purchase was refunded or charged back: what it fed must be taken back.

    ``succeeded_at`` is when it counted (its settlement), so listeners find the period it fed.
    Projections that find a claimed reward the purchase had fed flag it for staff review with a
    ``purchase_review_flagged`` fact (the shop's projection adds the reasons to the purchase).
    """

    user_id: int
    receipt: str
    flow: str
    kind: str  # "refund" | "dispute"
    price_cents: int
    price_gold: int
    items: tuple[tuple[str, int], ...]
    items_removed: tuple[tuple[str, int], ...]
    succeeded_at: datetime
    # when the player's other purchases that still stand succeeded: progress capped at a target
    # is recomputed from them, so a reversal never takes what those purchases earned
    other_purchases_at: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class RewardClaimed:
    user_id: int
    source: str  # "streak", "vip", "event", "mission", "battle_pass", "achievement", "level_up"
    gold: int
    streak_days: int = 0
    # XP the claim earned: mission and event claims add it to the level themselves (progression
    # adds the battle pass), streak and VIP claims leave level and battle pass to progression
    xp: int = 0


@dataclass(frozen=True)
class PurchaseReviewFlagged:
    """A projection found that a reversal could not take back everything: staff review it."""

    user_id: int
    receipt: str
    reasons: tuple[str, ...]


Fact = RoundSettled | PurchaseSucceeded | PurchaseReversed | RewardClaimed | PurchaseReviewFlagged

_TYPES: dict[type, EventType] = {
    RoundSettled: "round_settled",
    PurchaseSucceeded: "purchase_succeeded",
    PurchaseReversed: "purchase_reversed",
    RewardClaimed: "reward_claimed",
    PurchaseReviewFlagged: "purchase_review_flagged",
}
_CLASSES: dict[str, type] = {name: cls for cls, name in _TYPES.items()}


def domain_event_record(fact: Fact) -> int:
    """Append ``fact`` to the event log in the caller's transaction; returns the event id.

    Must run inside the transaction that made the fact true. Not idempotent: once per fact.
    """
    payload = asdict(fact)
    user_id = payload.pop("user_id")
    return domain_event_append(_TYPES[type(fact)], user_id, payload)


def domain_event_record_row(fact: Fact) -> tuple[str, str, list[Any]]:
    """``domain_event_record`` as a row the caller writes in its own statement
    (``casinoclub.eventlog.domain_event_row``). Not idempotent: once per fact."""
    payload = asdict(fact)
    user_id = payload.pop("user_id")
    return domain_event_row(_TYPES[type(fact)], user_id, payload)


def _parsed(value: Any, annotation: Any) -> Any:
    text = str(annotation)
    if "datetime" in text and "tuple" in text:
        return tuple(parse_datetime(item) for item in value)
    if "datetime" in text:
        return parse_datetime(value) if isinstance(value, str) else value
    if "tuple" in text and isinstance(value, list):
        return tuple(tuple(item) if isinstance(item, list) else item for item in value)
    return value


def fact_of(event_type: str, user_id: int, payload: dict[str, Any]) -> Fact:
    """The typed fact of one logged event (datetimes and tuples restored from JSON)."""
    cls = _CLASSES[event_type]
    values: dict[str, Any] = {"user_id": user_id}
    for field in fields(cls):
        if field.name != "user_id" and field.name in payload:
            values[field.name] = _parsed(payload[field.name], field.type)
    fact: Fact = cls(**values)
    return fact
