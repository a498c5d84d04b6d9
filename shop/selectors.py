"""Reads of the shop: prices after discount, what a player may buy, their purchases."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from accounts.items import item_display_name
from accounts.models import Rank, User
from shop.models import LimitedPackage, Product, ProductKind, Purchase, PurchaseStatus

RANK_ORDER = {Rank.STANDARD: 0, Rank.PREMIUM: 1, Rank.VIP: 2}


def rank_allows(rank: str, min_rank: str) -> bool:
    return RANK_ORDER[Rank(rank)] >= RANK_ORDER[Rank(min_rank)]


def discount_active(product: Product | LimitedPackage, now: datetime) -> bool:
    percent = getattr(product, "discount_percent", 0)
    ends = getattr(product, "discount_ends_at", None)
    return bool(percent) and (ends is None or ends > now)


def product_price(product: Product, now: datetime) -> int:
    """Price after any running discount: cents for packs, gold for items."""
    base = product.price_cents if product.kind == ProductKind.GOLD_PACK else product.price_gold
    assert base is not None
    if discount_active(product, now):
        return base - base * product.discount_percent // 100
    return base


def catalog_list(user: User, now: datetime) -> list[dict[str, Any]]:
    rows = []
    for product in Product.objects.filter(is_active=True):
        running = discount_active(product, now)
        rows.append(
            {
                "code": product.code,
                "name": product.name,
                "kind": product.kind,
                "gold_amount": product.gold_amount,
                "item_code": product.item_code or None,
                "item_name": item_display_name(product.item_code) if product.item_code else None,
                "currency": product.currency if product.kind == ProductKind.GOLD_PACK else "GOLD",
                "base_price": product.price_cents
                if product.kind == ProductKind.GOLD_PACK
                else product.price_gold,
                "price": product_price(product, now),
                "discount_percent": product.discount_percent if running else 0,
                "discount_ends_at": product.discount_ends_at if running else None,
                "min_rank": product.min_rank,
                "can_buy": rank_allows(user.rank, product.min_rank),
            }
        )
    return rows


def limited_packages_list(user: User, now: datetime) -> list[dict[str, Any]]:
    packages = (
        LimitedPackage.objects.filter(is_active=True, ends_at__gt=now)
        .annotate(
            bought=Count(
                "purchase",
                filter=Q(
                    purchase__user=user,
                    purchase__status__in=[PurchaseStatus.PENDING, PurchaseStatus.SUCCESS],
                ),
            )
        )
        .order_by("starts_at")
    )
    return [
        {
            "code": package.code,
            "name": package.name,
            "starts_at": package.starts_at,
            "ends_at": package.ends_at,
            "on_sale": package.starts_at <= now,
            "price": package.price_cents,
            "currency": package.currency,
            "gold_amount": package.gold_amount,
            "items": items_named(package.items),
            "total_stock": package.total_stock,
            "remaining_stock": package.remaining_stock,
            "per_user_limit": package.per_user_limit,
            "remaining_allowance": max(0, package.per_user_limit - package.bought),
            "min_rank": package.min_rank,
            "can_buy": rank_allows(user.rank, package.min_rank),
        }
        for package in packages
    ]


def money_spent_today(user_id: int) -> int:
    """Cents of today's (local day) money purchases that are pending or succeeded."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    today_start = datetime.combine(timezone.localdate(), time.min, tzinfo=zone)
    spent = Purchase.objects.filter(
        user_id=user_id,
        created_at__gte=today_start,
        status__in=[PurchaseStatus.PENDING, PurchaseStatus.SUCCESS],
        flow__in=["gold_pack", "limited"],
    ).aggregate(total=Sum("price_cents"))["total"]
    return int(spent or 0)


def purchases_list(user_id: int) -> QuerySet[Purchase]:
    return Purchase.objects.filter(user_id=user_id).order_by("-id")


def purchase_get_for_user(user_id: int, receipt: str) -> Purchase | None:
    return Purchase.objects.filter(user_id=user_id, receipt=receipt).first()


def items_named(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``[{"item_code", "quantity"}]`` with each item's display name (codes stay for the API)."""
    return [{**item, "name": item_display_name(str(item["item_code"]))} for item in items]


def purchase_public(purchase: Purchase) -> dict[str, Any]:
    """A purchase as its buyer sees it: ``name`` is what they bought as pages show it."""
    bought = purchase.product or purchase.package
    return {
        "receipt": purchase.receipt,
        "flow": purchase.flow,
        "status": purchase.status,
        "name": bought.name if bought is not None else None,
        "product": purchase.product.code if purchase.product else None,
        "package": purchase.package.code if purchase.package else None,
        "price": purchase.price_cents if purchase.flow != "item" else purchase.price_gold,
        "currency": purchase.currency if purchase.flow != "item" else "GOLD",
        "discount": purchase.discount_cents,
        "gold": purchase.gold,
        "items": items_named(purchase.items),
        "failure_reason": purchase.failure_reason or None,
        "created_at": purchase.created_at,
        "settled_at": purchase.settled_at,
        "signature": purchase.signature,
    }
