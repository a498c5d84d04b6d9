"""Economy figures for staff: gold minted and burned, revenue, players, pending purchases, alerts.

Every figure is one aggregate query over an indexed range (ledger entries carry a covering index
on ``created_at`` with reason, delta and wallet), so a date range stays fast with millions of rows.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import LedgerEntry, Wallet
from analytics.selectors import dau_by_day
from casinoclub.money import minor_digits, minor_unit_label
from casinoclub.realtime.presence import presence_online_count
from shop.models import Purchase, PurchaseFlow, PurchaseStatus

MONEY_FLOWS = [PurchaseFlow.GOLD_PACK, PurchaseFlow.LIMITED]
ADMIN_STATS_CACHE_KEY = "shop:admin-stats"


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def economy_daily(start: date, end: date) -> dict[str, Any]:
    """Per local calendar day in [start, end]: gold by reason, revenue, active players (the
    analytics DAU of the day's rollup: every player with a request or a socket that day).

    ``revenue_cents`` = ``sales_cents`` (money purchases that settled that day, refunded later or
    not) − ``refunds_cents`` (money purchases refunded or charged back that day), so it may be
    negative and a past day never changes. Those three add minor units of every currency up and
    mean something only while the shop sells in one currency; ``revenue_by_currency`` holds the
    same figures per currency (``{"KRW": {"sales", "refunds", "net"}}``, minor units of that
    currency) and ``currencies`` lists the currencies seen with their digits and unit label.
    """
    since, until = _bounds(start, end)
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    entries = LedgerEntry.objects.filter(created_at__gte=since, created_at__lt=until).annotate(
        day=TruncDate("created_at", tzinfo=zone)
    )
    by_reason = entries.values("day", "reason").annotate(
        minted=Sum("delta", filter=Q(delta__gt=0)), burned=Sum("delta", filter=Q(delta__lt=0))
    )
    # A sale counts on the day it settled, a refund as a negative on the day it happened: a
    # refund never changes a past day's figures.
    sales = (
        Purchase.objects.filter(
            flow__in=MONEY_FLOWS,
            status__in=[PurchaseStatus.SUCCESS, PurchaseStatus.REFUNDED],
            settled_at__gte=since,
            settled_at__lt=until,
        )
        .annotate(day=TruncDate("settled_at", tzinfo=zone))
        .values("day", "currency")
        .annotate(cents=Sum("price_cents"))
    )
    refunds = (
        Purchase.objects.filter(
            flow__in=MONEY_FLOWS,
            status=PurchaseStatus.REFUNDED,
            refunded_at__gte=since,
            refunded_at__lt=until,
        )
        .annotate(day=TruncDate("refunded_at", tzinfo=zone))
        .values("day", "currency")
        .annotate(cents=Sum("price_cents"))
    )
    days: dict[date, dict[str, Any]] = {}
    day = start
    while day <= end:
        days[day] = {"day": day.isoformat(), "minted": 0, "burned": 0, "by_reason": {},
                     "revenue_cents": 0, "sales_cents": 0, "refunds_cents": 0,
                     "revenue_by_currency": {}, "active_players": 0}  # fmt: skip
        day += timedelta(days=1)
    for row in by_reason:
        bucket = days[row["day"]]
        minted, burned = int(row["minted"] or 0), -int(row["burned"] or 0)
        bucket["minted"] += minted
        bucket["burned"] += burned
        bucket["by_reason"][row["reason"]] = {"minted": minted, "burned": burned}
    # Active players are the analytics DAU (any authenticated request or socket that day, from
    # the daily rollup), not only the players who moved gold.
    for day, dau in dau_by_day(start, end).items():
        days[day]["active_players"] = dau
    currencies: set[str] = set()
    for figure, queryset in (("sales", sales), ("refunds", refunds)):
        for row in queryset:
            currency = row["currency"].upper()
            currencies.add(currency)
            bucket = days[row["day"]]
            bucket[f"{figure}_cents"] += int(row["cents"] or 0)
            by_currency = bucket["revenue_by_currency"].setdefault(
                currency, {"sales": 0, "refunds": 0, "net": 0}
            )
            by_currency[figure] += int(row["cents"] or 0)
    for bucket in days.values():
        bucket["revenue_cents"] = bucket["sales_cents"] - bucket["refunds_cents"]
        for by_currency in bucket["revenue_by_currency"].values():
            by_currency["net"] = by_currency["sales"] - by_currency["refunds"]
    rows = list(days.values())
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "days": rows,
        # Revenue is only ever added up within one currency (minor units of that currency).
        "currencies": [
            {
                "code": code,
                "digits": minor_digits(code),
                "unit": minor_unit_label(code),
                "net": sum(row["revenue_by_currency"].get(code, {}).get("net", 0) for row in rows),
            }
            for code in sorted(currencies)
        ],
        "circulation": int(Wallet.objects.aggregate(total=Sum("balance"))["total"] or 0),
        "net": sum(row["minted"] - row["burned"] for row in rows),
    }


def economy_alerts(now: datetime | None = None) -> list[dict[str, Any]]:
    """What needs staff attention now."""
    now = now or timezone.now()
    alerts: list[dict[str, Any]] = []
    pending = Purchase.objects.filter(status=PurchaseStatus.PENDING).count()
    if pending >= settings.PENDING_PURCHASE_ALERT_THRESHOLD:
        alerts.append({"code": "pending_purchases_spike", "severity": "critical", "value": pending})
    review = Purchase.objects.filter(needs_review=True).count()
    if review:
        alerts.append({"code": "refunds_need_review", "severity": "warning", "value": review})
    recent = Purchase.objects.filter(
        flow__in=MONEY_FLOWS, created_at__gte=now - timedelta(hours=1)
    ).aggregate(total=Count("id"), failed=Count("id", filter=Q(status=PurchaseStatus.FAILED)))
    if recent["total"] >= 10 and recent["failed"] * 2 > recent["total"]:
        alerts.append(
            {"code": "purchase_failure_rate", "severity": "critical",
             "value": round(recent["failed"] / recent["total"], 2)}
        )  # fmt: skip
    return alerts


def _admin_stats_now() -> dict[str, Any]:
    now = timezone.now()
    today_start, _ = _bounds(timezone.localdate(now), timezone.localdate(now))
    money = Purchase.objects.filter(flow__in=MONEY_FLOWS, status=PurchaseStatus.SUCCESS)
    sold = Purchase.objects.filter(
        flow__in=MONEY_FLOWS, status__in=[PurchaseStatus.SUCCESS, PurchaseStatus.REFUNDED]
    )
    refunded = Purchase.objects.filter(flow__in=MONEY_FLOWS, status=PurchaseStatus.REFUNDED)
    by_currency: dict[str, dict[str, int]] = {}

    def add(rows: Any, figure: str, sign: int = 1) -> None:
        for row in rows.values("currency").annotate(total=Sum("price_cents")):
            figures = by_currency.setdefault(
                row["currency"], {"total_revenue": 0, "today_revenue": 0}
            )
            figures[figure] += sign * int(row["total"] or 0)

    add(money, "total_revenue")
    add(sold.filter(settled_at__gte=today_start), "today_revenue")
    add(refunded.filter(refunded_at__gte=today_start), "today_revenue", -1)
    revenue = [{"currency": code, **by_currency[code]} for code in sorted(by_currency)]
    return {
        "online_users": presence_online_count(),
        # Sums of minor units across currencies, kept for existing clients: they mean something
        # only while the shop sells in one currency; ``revenue_by_currency`` splits them.
        "total_revenue": sum(row["total_revenue"] for row in revenue),
        "today_revenue": sum(row["today_revenue"] for row in revenue),
        "revenue_by_currency": revenue,
        "pending_purchases": Purchase.objects.filter(status=PurchaseStatus.PENDING).count(),
        "critical_alerts": [a for a in economy_alerts(now) if a["severity"] == "critical"],
        "generated_at": now.isoformat(),
    }


def admin_stats() -> dict[str, Any]:
    """The staff stats snapshot, cached 5 s in Redis (all web processes share it)."""
    stats = cache.get_or_set(ADMIN_STATS_CACHE_KEY, _admin_stats_now, timeout=5)
    return stats if isinstance(stats, dict) else _admin_stats_now()
