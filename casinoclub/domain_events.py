"""Facts other apps react to, sent inside the transaction that made them true.

Games and the shop announce what a player did; progression (events, missions, achievements, XP)
listens; a reversed purchase is announced too, so progression takes back what it had counted.
The sender never imports a listener, so dependencies keep pointing one way. Signals are sent
with ``send`` (not ``send_robust``): a failing listener rolls the whole change back, so progress
can never disagree with the rounds and purchases it was derived from. Listeners run in the
sender's transaction and must be quick and row-lock only the player's own rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.dispatch import Signal


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
    Receivers return a list of review reason codes (empty when everything was reversed).
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


round_settled = Signal()  # kwargs: event=RoundSettled
purchase_succeeded = Signal()  # kwargs: event=PurchaseSucceeded
purchase_reversed = Signal()  # kwargs: event=PurchaseReversed; receivers return list[str]
reward_claimed = Signal()  # kwargs: event=RewardClaimed
