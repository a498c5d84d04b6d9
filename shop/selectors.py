"""Reads of the shop: prices after discount, what a player may buy, their purchases."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Rank, User
from accounts.selectors import item_names
from casinoclub.i18n import localized
from shop.models import LimitedPackage, Product, ProductKind, Purchase, PurchaseStatus

RANK_ORDER = {Rank.STANDARD: 0, Rank.PREMIUM: 1, Rank.VIP: 2}


def rank_allows(rank: str, min_rank: str) -> bool:
    return RANK_ORDER[Rank(rank)] >= RANK_ORDER[Rank(min_rank)]


def discount_active(product: Product | LimitedPackage, now: datetime) -> bool:
    percent = getattr(product, "discount_percent", 0)
    starts = getattr(product, "discount_starts_at", None)
    ends = getattr(product, "discount_ends_at", None)
    return bool(percent) and (starts is None or starts <= now) and (ends is None or ends > now)


def product_price(product: Product, now: datetime) -> int:
    """Price after any running discount: cents for packs, gold for items."""
    base = product.price_cents if product.kind == ProductKind.GOLD_PACK else product.price_gold
    assert base is not None
    if discount_active(product, now):
        return base - base * product.discount_percent // 100
    return base


def catalog_list(user: User, now: datetime) -> list[dict[str, Any]]:
    """The active catalog as ``user`` sees it, names in the active language. Two queries."""
    rows = []
    products = list(Product.objects.filter(is_active=True))
    names = item_names([product.item_code for product in products if product.item_code])
    for product in products:
        running = discount_active(product, now)
        rows.append(
            {
                "code": product.code,
                "name": localized(product, "name"),
                "kind": product.kind,
                "gold_amount": product.gold_amount,
                "item_code": product.item_code or None,
                "item_name": names[product.item_code] if product.item_code else None,
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
        limited_package_card(
            package,
            now=now,
            bought=package.bought,
            can_buy=rank_allows(user.rank, package.min_rank),
        )
        for package in packages
    ]


def limited_package_card(
    package: LimitedPackage, *, now: datetime, bought: int = 0, can_buy: bool = True
) -> dict[str, Any]:
    """What the shop card of a limited package shows (``templates/pages/_limited_card.html``):
    for a player who bought it ``bought`` times; the admin preview shows a new buyer's card."""
    return {
        "code": package.code,
        "name": localized(package, "name"),
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
        "remaining_allowance": max(0, package.per_user_limit - bought),
        "min_rank": package.min_rank,
        "can_buy": can_buy,
    }


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
    names = item_names([str(item["item_code"]) for item in items])
    return [{**item, "name": names[str(item["item_code"])]} for item in items]


def purchase_public(purchase: Purchase) -> dict[str, Any]:
    """A purchase as its buyer sees it: ``name`` is what they bought as pages show it."""
    bought = purchase.product or purchase.package
    return {
        "receipt": purchase.receipt,
        "flow": purchase.flow,
        "status": purchase.status,
        "name": localized(bought, "name") if bought is not None else None,
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


def limited_packages_overlapping(start: datetime, end: datetime) -> list[LimitedPackage]:
    """Limited packages (active or not) on sale at some moment of [start, end) (the calendar)."""
    return list(
        LimitedPackage.objects.filter(starts_at__lt=end, ends_at__gt=start).order_by(
            "starts_at", "id"
        )
    )


def discounts_overlapping(start: datetime, end: datetime) -> list[Product]:
    """Active products with a discount running some time in [start, end): started before ``end``
    (no start: from when it was set) and not ended by ``start`` (no end: until removed)."""
    return list(
        Product.objects.filter(is_active=True, discount_percent__gt=0)
        .filter(Q(discount_starts_at__isnull=True) | Q(discount_starts_at__lt=end))
        .filter(Q(discount_ends_at__isnull=True) | Q(discount_ends_at__gt=start))
        .order_by("discount_ends_at", "id")
    )


def purchases_for_export(user: Any) -> list[dict[str, Any]]:
    """The player's purchases for ``Export my data`` (no gateway secrets or review notes)."""
    fields = [
        "receipt", "flow", "status", "price_cents", "discount_cents", "currency", "price_gold",
        "gold", "items", "created_at", "settled_at", "refunded_at", "reversal_kind",
    ]  # fmt: skip
    return [
        {**row, "product": row.pop("product__code"), "package": row.pop("package__code")}
        for row in Purchase.objects.filter(user_id=user.pk)
        .order_by("pk")
        .values(*fields, "product__code", "package__code")
    ]


# Money purchases (priced in a currency): what the purchase funnel and revenue figures count.
_MONEY_FLOWS = ["gold_pack", "limited"]


def purchase_funnel_rows(since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Money purchases started in [since, until): first every product together (``product`` "")
    then per product code (a limited package's code for a package), each
    ``{"product", "attempted", "attempted_players", "paid", "settled"}``. ``paid``: the gateway
    captured the money (the purchase settled at some point); ``settled``: paid and still standing
    (not refunded or charged back). For periodic rollups, not for page views."""
    rows = (
        Purchase.objects.filter(flow__in=_MONEY_FLOWS, created_at__gte=since, created_at__lt=until)
        .values("product__code", "package__code")
        .annotate(
            attempted=Count("id"),
            attempted_players=Count("user_id", distinct=True),
            paid=Count("id", filter=Q(settled_at__isnull=False)),
            settled=Count("id", filter=Q(status=PurchaseStatus.SUCCESS)),
        )
    )
    total = Purchase.objects.filter(
        flow__in=_MONEY_FLOWS, created_at__gte=since, created_at__lt=until
    ).aggregate(
        attempted=Count("id"),
        attempted_players=Count("user_id", distinct=True),
        paid=Count("id", filter=Q(settled_at__isnull=False)),
        settled=Count("id", filter=Q(status=PurchaseStatus.SUCCESS)),
    )
    return [{"product": "", **total}] + [
        {"product": row["product__code"] or row["package__code"] or "-",
         "attempted": row["attempted"], "attempted_players": row["attempted_players"],
         "paid": row["paid"], "settled": row["settled"]}
        for row in rows
    ]  # fmt: skip


def money_revenue_rows(since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Per currency (upper case) in [since, until): ``sales`` (money purchases that settled then,
    refunded later or not), ``refunds`` (reversed then), ``payers`` (players with a sale) and
    ``first_payers`` (of them, the ones with no money purchase settled before ``since``); amounts
    in minor units of the currency. For periodic rollups, not for page views."""
    money = Purchase.objects.filter(flow__in=_MONEY_FLOWS)
    sold = money.filter(
        status__in=[PurchaseStatus.SUCCESS, PurchaseStatus.REFUNDED],
        settled_at__gte=since,
        settled_at__lt=until,
    )
    earlier = money.filter(
        user_id=OuterRef("user_id"), settled_at__isnull=False, settled_at__lt=since
    )
    figures: dict[str, dict[str, Any]] = {}

    def bucket(currency: str) -> dict[str, Any]:
        return figures.setdefault(
            currency.upper(),
            {"currency": currency.upper(), "sales": 0, "refunds": 0, "payers": set(),
             "first_payers": set()},
        )  # fmt: skip

    for row in sold.annotate(is_repeat=Exists(earlier)).values(
        "currency", "user_id", "price_cents", "is_repeat"
    ):
        target = bucket(row["currency"])
        target["sales"] += int(row["price_cents"])
        target["payers"].add(row["user_id"])
        if not row["is_repeat"]:
            target["first_payers"].add(row["user_id"])
    refunds = (
        money.filter(status=PurchaseStatus.REFUNDED, refunded_at__gte=since, refunded_at__lt=until)
        .values("currency")
        .annotate(cents=Sum("price_cents"))
    )
    for row in refunds:
        bucket(row["currency"])["refunds"] += int(row["cents"] or 0)
    return [
        {**row, "payers": len(row["payers"]), "first_payers": len(row["first_payers"])}
        for row in figures.values()
    ]
