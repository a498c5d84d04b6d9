"""Live-operations test data: segments, campaigns, and crafted event-log rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import factory
from django.utils import timezone

from accounts.models import BlockKind, ResponsiblePlay, User
from casinoclub.models import DomainEvent
from liveops.models import Campaign, Category, Segment


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"segment {n}")


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"campaign {n}")
    category = Category.EVENTS
    title_en = "Hello $nickname"
    title_ko = "안녕하세요 $nickname"
    body_en = "Come back for the weekend event."
    body_ko = "주말 이벤트에 오세요."


def logged(
    event_type: str, user: User, payload: dict[str, Any], *, at: datetime | None = None
) -> DomainEvent:
    """One event-log row written as the log's writer would, at ``at`` (default: now)."""
    return DomainEvent.objects.create(
        type=event_type,
        user_id=user.pk,
        payload=payload,
        created_at=at or timezone.now(),
        transaction_id=0,
    )


def purchase(user: User, cents: int, *, days_ago: float = 0, receipt: str = "") -> DomainEvent:
    at = timezone.now() - timedelta(days=days_ago)
    receipt = receipt or f"r-{user.pk}-{at.timestamp()}-{cents}"
    payload = {
        "receipt": receipt,
        "flow": "pack",
        "product_code": "pack",
        "price_cents": cents,
        "price_gold": 0,
        "gold": 1000,
    }
    return logged("purchase_succeeded", user, payload, at=at)


def round_settled(user: User, bet: int, payout: int, *, at: datetime) -> DomainEvent:
    payload = {"round_id": 1, "game": "slot", "bet": bet, "payout": payout, "multiplier_x100": 0}
    return logged("round_settled", user, payload, at=at)


def block(user: User, kind: str = BlockKind.SELF_EXCLUSION, days: int = 30) -> None:
    ResponsiblePlay.objects.update_or_create(
        user=user,
        defaults={"blocked_until": timezone.now() + timedelta(days=days), "block_kind": kind},
    )
