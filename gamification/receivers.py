"""Domain-event receivers: thin adapters from games and shop facts to progression services.

They run inside the sender's transaction (``casinoclub.domain_events``); a failure rolls the round
or purchase back, so progress never disagrees with what it was derived from.
"""

from __future__ import annotations

from typing import Any

from casinoclub.domain_events import PurchaseReversed, PurchaseSucceeded, RoundSettled
from gamification import services


def on_round_settled(sender: Any, *, event: RoundSettled, **kwargs: Any) -> None:
    services.round_progress_record(
        event.user_id,
        game=event.game,
        bet=event.bet,
        payout=event.payout,
        multiplier_x100=event.multiplier_x100,
    )


def on_purchase_succeeded(sender: Any, *, event: PurchaseSucceeded, **kwargs: Any) -> None:
    services.purchase_progress_record(
        event.user_id, receipt=event.receipt, price_cents=event.price_cents
    )


def on_purchase_reversed(sender: Any, *, event: PurchaseReversed, **kwargs: Any) -> list[str]:
    return services.purchase_progress_reverse(
        event.user_id,
        receipt=event.receipt,
        price_cents=event.price_cents,
        items_removed=event.items_removed,
    )
