"""Template filters of the player pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.text import get_text_list
from django.utils.translation import gettext

register = template.Library()


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


@register.filter
def join_names(symbols: list[dict[str, Any]]) -> str:
    """``[{name: "bell"}, {name: "lemon"}]`` → "bell or lemon" in the page's language."""
    return str(get_text_list([str(symbol["name"]) for symbol in symbols], gettext("or")))
