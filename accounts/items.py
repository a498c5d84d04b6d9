"""What players call their items: display names and the kind (slot) each item equips into.

Item codes (``frame_silver``) are identifiers, never shown to players. A code's kind is its
prefix; an item of no known kind (a battle-pass premium pass, say) is owned but not equipped.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Equip slots, in the order pages show them; a player equips at most one item of each kind.
ITEM_KINDS: dict[str, Promise] = {
    "frame": _("Avatar frame"),
    "card_back": _("Card back"),
    "emote": _("Emote"),
    "skin": _("Skin"),
}

# The slots as a choice set (the API's ``kind``; ``ItemKindEnum`` in the schema).
ITEM_KIND_CHOICES = list(ITEM_KINDS)

# The names of the default items when their ``accounts.Item`` row (staff-edited, both languages;
# ``accounts.selectors.item_names``) is missing: the same as the rows the migration creates.
ITEM_NAMES: dict[str, Promise] = {
    "frame_bronze": _("Bronze avatar frame"),
    "frame_silver": _("Silver avatar frame"),
    "frame_gold": _("Gold avatar frame"),
    "emote_lucky_cat": _("Lucky cat emote"),
    "card_back_royal": _("Royal card back"),
    "skin_golden_dragon": _("Golden dragon skin"),
    "skin_jade_tiger": _("Jade tiger skin"),
}

BATTLE_PASS_ITEM_PREFIX = "battle_pass_premium:"  # noqa: S105  # an item code prefix, not a secret


def item_kind(item_code: str) -> str | None:
    """The equip slot of ``item_code`` (``frame_gold`` → ``frame``), or None if it has none."""
    for kind in sorted(ITEM_KINDS, key=len, reverse=True):  # card_back before a shorter prefix
        if item_code.startswith(f"{kind}_") and len(item_code) > len(kind) + 1:
            return kind
    return None


def item_display_name(item_code: str) -> str:
    """The name players see, in the active language (a readable fallback for unlisted codes)."""
    known = ITEM_NAMES.get(item_code)
    if known is not None:
        return str(known)
    if item_code.startswith(BATTLE_PASS_ITEM_PREFIX):
        return str(_("Premium battle pass"))
    kind = item_kind(item_code)
    words = (item_code[len(kind) + 1 :] if kind else item_code).replace("_", " ").replace("-", " ")
    label = words.strip().capitalize() or item_code
    return f"{label} ({ITEM_KINDS[kind]})" if kind else label


def item_public(item_code: str, name: str | None = None) -> dict[str, Any]:
    """An item as players see it: code (for the API), display name (``name``: the staff-edited
    one from ``accounts.selectors.item_names``; else ``item_display_name``), kind and the kind's
    name."""
    kind = item_kind(item_code)
    return {
        "item_code": item_code,
        "name": item_display_name(item_code) if name is None else name,
        "kind": kind,
        "kind_name": str(ITEM_KINDS[kind]) if kind else None,
    }
