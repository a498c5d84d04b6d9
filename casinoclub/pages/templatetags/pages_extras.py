"""Template filters of the player pages."""

from __future__ import annotations

from django import template

from accounts.selectors import item_names, rank_label
from games.selectors import rarity_label

register = template.Library()


@register.filter(name="rank_label")
def rank_label_filter(rank: object) -> str:
    """A rank code in the page's language: ``STANDARD`` → "Standard" / "스탠다드"."""
    return rank_label(str(rank))


@register.filter(name="rarity_label")
def rarity_label_filter(rarity: object) -> str:
    """A gacha rarity in the page's language: ``common`` → "Common" / "일반"."""
    return rarity_label(str(rarity))


@register.filter
def item_name(code: object) -> str:
    """An item code's name in the page's language (one query: for single items, not lists)."""
    return item_names([str(code)])[str(code)]


# ISO 4217 currencies with no minor unit.
# fmt: off
ZERO_DECIMAL_CURRENCIES = frozenset({
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW",
    "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
})
# fmt: on


@register.filter
def gold(value: object) -> str:
    """Whole gold with thousands separators (``12,345``), like the pages' JavaScript."""
    try:
        return f"{int(value):,}"  # type: ignore[call-overload]  # template input: anything
    except (TypeError, ValueError):
        return ""


@register.filter
def money(cents: object, currency: object) -> str:
    """A real-money price from its minor units: ``12.99 USD``, ``1,200 KRW``; gold stays whole.

    ``price_cents`` holds the currency's ISO 4217 minor unit, so a currency without one (KRW,
    JPY, ...) counts whole units there.
    """
    try:
        amount = int(cents)  # type: ignore[call-overload]  # template input: anything
    except (TypeError, ValueError):
        return ""
    if currency == "GOLD":
        return f"{amount:,}"
    if currency in ZERO_DECIMAL_CURRENCIES:
        return f"{amount:,} {currency}"
    return f"{amount / 100:,.2f} {currency}"
