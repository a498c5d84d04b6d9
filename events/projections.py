"""Missions and events as a projection of the event log (rounds, purchases, streak claims).

Applied per event inside the batch transaction (each event is one ``progress_record`` of two or
three set-based statements over the player's rows); counted in the periods of the event's time.
A reversal that cannot take back progress a claimed reward needed flags the purchase for review
(``purchase_review_flagged``, applied by the shop's projection).
"""

from __future__ import annotations

from accounts.services import wallets_lock
from casinoclub import domain_events
from casinoclub.projections import PER_EVENT_BATCH_SIZE, Event, Projection
from events import services

EVENT_PROGRESS = "event_progress"


def event_progress_apply(events: list[Event]) -> None:
    # the lock order of claims and rounds: the players' wallets first, then their progress rows
    wallets_lock({event.user_id for event in events})
    for event in events:
        fact = domain_events.fact_of(event.type, event.user_id, event.payload)
        if isinstance(fact, domain_events.RoundSettled):
            services.progress_record(services.contribution_of_round(fact), at=event.created_at)
        elif isinstance(fact, domain_events.PurchaseSucceeded):
            services.progress_record(services.contribution_of_purchase(fact), at=event.created_at)
        elif isinstance(fact, domain_events.PurchaseReversed):
            reasons = services.progress_reverse(
                services.contribution_of_reversed_purchase(fact),
                counted_at=fact.succeeded_at,
                other_purchases_at=fact.other_purchases_at,
            )
            if reasons:
                domain_events.domain_event_record(
                    domain_events.PurchaseReviewFlagged(
                        user_id=fact.user_id, receipt=fact.receipt, reasons=tuple(reasons)
                    )
                )
        elif isinstance(fact, domain_events.RewardClaimed):
            services.progress_record(services.contribution_of_reward(fact), at=event.created_at)


PROJECTIONS = (
    Projection(
        name=EVENT_PROGRESS,
        event_types=frozenset(
            {"round_settled", "purchase_succeeded", "purchase_reversed", "reward_claimed"}
        ),
        apply=event_progress_apply,
        batch_size=PER_EVENT_BATCH_SIZE,
    ),
)
