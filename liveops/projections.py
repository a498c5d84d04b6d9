"""Campaign rules that react to the event log as soon as the projections apply it.

A *first purchase* rule (docs/decisions/0217) reaches a player in the projection batch that
applies the player's first real-money purchase (``price_cents > 0``), when the purchase was made
after the rule was switched on. The delivery row (unique per campaign and player) makes it once per
player per rule, whichever of this projection and the beat backstop gets there first; replaying
the log sends nothing twice. The batch's own cost without an active rule is one Python filter.
"""

from __future__ import annotations

from django.db import connection

from casinoclub.projections import Event, Projection
from liveops import services
from liveops.models import Campaign, CampaignStatus, Trigger

FIRST_PURCHASE_RULES = "liveops_first_purchase_rules"


def _first_purchase_event_ids(user_ids: list[int]) -> set[int]:
    """The id of each player's first real-money purchase event in the log."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT ON (user_id) id FROM casinoclub_domainevent"
            " WHERE type = 'purchase_succeeded' AND (payload->>'price_cents')::bigint > 0"
            " AND user_id = ANY(%s) ORDER BY user_id, transaction_id, id",
            [user_ids],
        )
        return {row[0] for row in cursor.fetchall()}


def first_purchase_rules_apply(events: list[Event]) -> None:
    """Runs in the projection batch's transaction (see the module docstring)."""
    paid = [event for event in events if int(event.payload.get("price_cents") or 0) > 0]
    if not paid:
        return
    rules = list(
        Campaign.objects.filter(
            status=CampaignStatus.ACTIVE, trigger=Trigger.FIRST_PURCHASE
        ).order_by("pk")
    )
    if not rules:
        return
    first_ids = _first_purchase_event_ids(sorted({event.user_id for event in paid}))
    firsts = {event.user_id: event.created_at for event in paid if event.id in first_ids}
    for rule in rules:
        reached = [
            user_id
            for user_id, made_at in sorted(firsts.items())
            if rule.activated_at is not None and made_at >= rule.activated_at
        ]
        if reached:
            services.campaign_rule_deliver(rule, reached)


def _nothing_to_repair(events: list[Event]) -> int:
    """The deliveries are the state and were sent: a rebuild sends nothing, changes nothing."""
    return 0


PROJECTIONS = (
    Projection(
        name=FIRST_PURCHASE_RULES,
        event_types=frozenset({"purchase_succeeded"}),
        apply=first_purchase_rules_apply,
        repair=_nothing_to_repair,
    ),
)
