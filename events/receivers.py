"""Domain event receivers: turn what a player did into progress (in the sender's transaction)."""

from __future__ import annotations

from typing import Any

from casinoclub import domain_events

from . import services


def on_round_settled(sender: Any, event: domain_events.RoundSettled, **kwargs: Any) -> None:
    services.progress_record(services.contribution_of_round(event))


def on_purchase_succeeded(
    sender: Any, event: domain_events.PurchaseSucceeded, **kwargs: Any
) -> None:
    services.progress_record(services.contribution_of_purchase(event))


def on_purchase_reversed(
    sender: Any, event: domain_events.PurchaseReversed, **kwargs: Any
) -> list[str]:
    return services.progress_reverse(
        services.contribution_of_reversed_purchase(event),
        counted_at=event.succeeded_at,
        other_purchases_at=event.other_purchases_at,
    )


def on_reward_claimed(sender: Any, event: domain_events.RewardClaimed, **kwargs: Any) -> None:
    services.progress_record(services.contribution_of_reward(event))
