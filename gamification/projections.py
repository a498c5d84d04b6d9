"""Progression as a projection of the event log: counters, XP and levels, battle-pass XP,
achievements, purchase counters and VIP points.

Applied per event inside the batch transaction (not yet set-based: achievements, level-ups and
VIP ranks depend on each step's result). Exactly once by the batch's cursor; level-up and
achievement rewards also keep their ledger idempotency keys. The batch locks the wallets of all
its players first, in primary-key order, so it never deadlocks with rounds or claims.
"""

from __future__ import annotations

from accounts.models import User
from accounts.services import wallets_lock
from casinoclub import domain_events
from casinoclub.projections import PER_EVENT_BATCH_SIZE, Event, Projection
from casinoclub.realtime.services import realtime_publish
from gamification import services

PROGRESSION = "progression"


def progression_apply(events: list[Event]) -> None:
    wallets_lock({event.user_id for event in events})
    changed: set[int] = set()  # players whose XP, counters or achievements this batch moved
    for event in events:
        fact = domain_events.fact_of(event.type, event.user_id, event.payload)
        if not isinstance(fact, domain_events.RewardClaimed) or fact.source in ("mission", "event"):
            changed.add(fact.user_id)
        if isinstance(fact, domain_events.RoundSettled):
            services.round_progress_record(
                fact.user_id,
                game=fact.game,
                bet=fact.bet,
                payout=fact.payout,
                multiplier_x100=fact.multiplier_x100,
            )
        elif isinstance(fact, domain_events.PurchaseSucceeded):
            services.purchase_progress_record(
                fact.user_id, receipt=fact.receipt, price_cents=fact.price_cents
            )
        elif isinstance(fact, domain_events.PurchaseReversed):
            reasons = services.purchase_progress_reverse(
                fact.user_id,
                receipt=fact.receipt,
                price_cents=fact.price_cents,
                items_removed=fact.items_removed,
            )
            if reasons:
                domain_events.domain_event_record(
                    domain_events.PurchaseReviewFlagged(
                        user_id=fact.user_id, receipt=fact.receipt, reasons=tuple(reasons)
                    )
                )
        elif isinstance(fact, domain_events.RewardClaimed) and fact.source in ("mission", "event"):
            # the claim added the level XP itself; its battle-pass XP is added here
            services.season_experience_add(fact.user_id, fact.xp, at=event.created_at)
    # the players' XP and level after the batch, in the batch's one progress_update each
    players = User.objects.filter(pk__in=changed)
    for user_id, experience, level in players.values_list("pk", "experience", "level"):
        realtime_publish(user_id, "progress_update", {"xp": experience, "level": level})


def progression_differences() -> list[str]:
    """The counters that are sums of the log: rounds, bets, wins and standing purchases.

    (Streaks, XP and achievements depend on each step and on staff grants: not recomputed.)
    """
    from casinoclub.projections import events_of_types
    from gamification.models import PlayerProgress

    expected: dict[int, list[int]] = {}
    for event in events_of_types(frozenset({"round_settled", "purchase_succeeded",
                                            "purchase_reversed"})):  # fmt: skip
        row = expected.setdefault(event.user_id, [0, 0, 0, 0])
        if event.type == "round_settled":
            row[0] += 1
            row[1] += int(event.payload["bet"])
            row[2] += int(event.payload["payout"])
        elif event.type == "purchase_succeeded":
            row[3] += 1
        else:
            row[3] = max(0, row[3] - 1)
    actual = {
        row[0]: list(row[1:])
        for row in PlayerProgress.objects.values_list(
            "user_id", "rounds_played", "total_bet", "total_won", "purchases"
        )
    }
    differences = []
    for user_id in sorted(set(expected) | set(actual)):
        want, have = expected.get(user_id, [0, 0, 0, 0]), actual.get(user_id, [0, 0, 0, 0])
        if want != have:
            differences.append(
                f"{PROGRESSION} user {user_id} (rounds, bet, won, purchases):"
                f" expected {want}, found {have}"
            )
    return differences


PROJECTIONS = (
    Projection(
        name=PROGRESSION,
        event_types=frozenset(
            {"round_settled", "purchase_succeeded", "purchase_reversed", "reward_claimed"}
        ),
        apply=progression_apply,
        batch_size=PER_EVENT_BATCH_SIZE,
        differences=progression_differences,
    ),
)
