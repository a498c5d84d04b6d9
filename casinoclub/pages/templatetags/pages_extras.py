"""Template filters of the player pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.text import get_text_list
from django.utils.translation import gettext

from accounts.selectors import item_names, rank_label
from casinoclub.money import format_money
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
