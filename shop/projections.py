"""The shop's projection: review flags that progression projections found after a reversal.

Set-based: the batch locks the flagged purchases once (primary-key order, after the players'
wallets), adds the reasons in Python (a reason already on a purchase is not added twice, the
rule of ``shop.services.purchase_review_flag``) and writes them with ONE statement.
"""

from __future__ import annotations

import json

from django.db import connection
from django.utils import timezone

from accounts.services import wallets_lock
from casinoclub.projections import Event, Projection


def purchase_reviews_apply(events: list[Event]) -> None:
    """Flag each reversed purchase with the reasons found; an unknown receipt is skipped."""
    wallets_lock({event.user_id for event in events})  # the shop's lock order: wallet, purchase
    receipts = sorted({str(event.payload["receipt"]) for event in events})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, receipt, review_reasons FROM shop_purchase WHERE receipt = ANY(%s)"
            " ORDER BY id FOR NO KEY UPDATE",
            [receipts],
        )
        found = {
            row[1]: (row[0], row[2] if isinstance(row[2], list) else json.loads(row[2]))
            for row in cursor.fetchall()
        }
    reasons: dict[str, list[str]] = {}
    for event in events:
        receipt = str(event.payload["receipt"])
        if receipt not in found:
            continue
        current = reasons.setdefault(receipt, list(found[receipt][1]))
        for reason in event.payload["reasons"]:
            if reason not in current:
                current.append(reason)
    if not reasons:
        return
    flagged = sorted(reasons.items(), key=lambda item: found[item[0]][0])
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE shop_purchase AS p SET needs_review = true, review_reasons = b.reasons,"
            " updated_at = %s FROM unnest(%s::bigint[], %s::jsonb[]) AS b(id, reasons)"
            " WHERE p.id = b.id",
            [
                timezone.now(),
                [found[receipt][0] for receipt, _ in flagged],
                [json.dumps(current) for _, current in flagged],
            ],
        )


def purchase_reviews_differences() -> list[str]:
    """Every purchase a projection flagged needs review with every reason the log gives (the
    reversal's own reasons may stand beside them)."""
    from casinoclub.projections import events_of_types
    from shop.models import Purchase

    expected: dict[str, list[str]] = {}
    for event in events_of_types(frozenset({"purchase_review_flagged"})):
        reasons = expected.setdefault(str(event.payload["receipt"]), [])
        reasons.extend(r for r in event.payload["reasons"] if r not in reasons)
    actual = {
        receipt: (needs_review, reasons)
        for receipt, needs_review, reasons in Purchase.objects.filter(
            receipt__in=list(expected)
        ).values_list("receipt", "needs_review", "review_reasons")
    }
    differences = []
    for receipt, reasons in sorted(expected.items()):
        if receipt not in actual:
            continue  # an unknown receipt is skipped when applied, too
        needs_review, found = actual[receipt]
        if not needs_review or any(reason not in found for reason in reasons):
            differences.append(
                f"purchase_reviews {receipt}: expected review for {reasons},"
                f" found needs_review={needs_review} {found}"
            )
    return differences


def purchase_reviews_repair(events: list[Event]) -> int:
    """Add every logged reason a purchase is missing (reasons are only ever added)."""
    from shop.models import Purchase

    def state(receipts: list[str]) -> dict[str, tuple[bool, list[str]]]:
        return {
            receipt: (needs_review, reasons)
            for receipt, needs_review, reasons in Purchase.objects.filter(
                receipt__in=receipts
            ).values_list("receipt", "needs_review", "review_reasons")
        }

    if not events:
        return 0
    before = state(sorted({str(event.payload["receipt"]) for event in events}))
    purchase_reviews_apply(events)
    after = state(list(before))
    return sum(before[receipt] != after[receipt] for receipt in before)


PROJECTIONS = (
    Projection(
        name="purchase_reviews",
        event_types=frozenset({"purchase_review_flagged"}),
        apply=purchase_reviews_apply,
        differences=purchase_reviews_differences,
        repair=purchase_reviews_repair,
    ),
)
