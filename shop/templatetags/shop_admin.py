"""Admin template tags of the shop: the limited package card preview."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from shop.models import LimitedPackage
from shop.selectors import limited_package_card

register = template.Library()


@register.inclusion_tag("admin/shop/limitedpackage/card_preview.html")
def limited_package_card_preview(package: LimitedPackage | None) -> dict[str, Any]:
    """The saved package's shop card, rendered by the players' own card template, as a new buyer
    of the minimum rank sees it now."""
    if package is None or package.pk is None:
        return {"package": None}
    return {"package": limited_package_card(package, now=timezone.now())}
