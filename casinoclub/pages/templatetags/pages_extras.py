"""Template filters of the player pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.text import get_text_list
from django.utils.translation import gettext

from casinoclub.money import format_money

register = template.Library()


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
    return format_money(amount, str(currency))


@register.filter
def join_names(symbols: list[dict[str, Any]]) -> str:
    """``[{name: "bell"}, {name: "lemon"}]`` → "bell or lemon" in the page's language."""
    return str(get_text_list([str(symbol["name"]) for symbol in symbols], gettext("or")))
