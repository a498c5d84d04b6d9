"""The shop's projection: review flags that progression projections found after a reversal."""

from __future__ import annotations

from accounts.services import wallets_lock
from casinoclub.projections import Event, Projection
from shop import services


def purchase_reviews_apply(events: list[Event]) -> None:
    """Flag each reversed purchase with the reasons found (per event; reversals are rare)."""
    wallets_lock({event.user_id for event in events})  # the shop's lock order: wallet, purchase
    for event in events:
        services.purchase_review_flag(event.payload["receipt"], list(event.payload["reasons"]))


PROJECTIONS = (
    Projection(
        name="purchase_reviews",
        event_types=frozenset({"purchase_review_flagged"}),
        apply=purchase_reviews_apply,
    ),
)
