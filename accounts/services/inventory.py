"""Player inventory and equipped items.

Quantities change with one upsert, never read-modify-write. A player equips only an item they
own, at most one per kind (a unique constraint on (user, kind), written by one upsert).
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.exceptions import ItemNotEquippable, ItemNotOwned
from accounts.items import ITEM_KINDS, item_kind, item_public
from accounts.models import EquippedItem


def inventory_add(user_id: int, item_code: str, quantity: int = 1) -> int:
    """Add ``quantity`` of ``item_code``; returns the new quantity.

    Runs in the caller's transaction.
    """
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_inventoryitem (user_id, item_code, quantity, updated_at)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (user_id, item_code)"
            " DO UPDATE SET quantity = accounts_inventoryitem.quantity + EXCLUDED.quantity,"
            " updated_at = EXCLUDED.updated_at RETURNING quantity",
            [user_id, item_code, quantity, timezone.now()],
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def inventory_remove(user_id: int, item_code: str, quantity: int = 1) -> int:
    """Remove up to ``quantity`` of ``item_code``; returns how many were removed (never more than
    the player owns, so a quantity never goes negative). Runs in the caller's transaction; the
    row is locked by the ``UPDATE``.
    """
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH owned AS (SELECT id, quantity FROM accounts_inventoryitem"
            " WHERE user_id = %s AND item_code = %s FOR UPDATE)"
            " UPDATE accounts_inventoryitem i"
            " SET quantity = i.quantity - LEAST(owned.quantity, %s), updated_at = %s"
            " FROM owned WHERE i.id = owned.id RETURNING LEAST(owned.quantity, %s)",
            [user_id, item_code, quantity, timezone.now(), quantity],
        )
        row = cursor.fetchone()
    return int(row[0]) if row is not None else 0


@transaction.atomic(durable=True)
def item_equip(user_id: int, item_code: str) -> dict[str, Any]:
    """Show ``item_code`` in its kind's slot, replacing the item equipped there; returns the
    equipped item (``items.item_public``). Idempotent.

    Raises ``ItemNotEquippable`` for an item of no kind and ``ItemNotOwned`` unless the player
    owns at least one; nothing changes then. The owned row is locked (``FOR SHARE``) so a refund
    removing the item waits for the equip, and the slot is one upsert on (user, kind), so two
    equips of the same kind racing leave exactly one row.
    """
    kind = item_kind(item_code)
    if kind is None:
        raise ItemNotEquippable(details={"item_code": item_code})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM accounts_inventoryitem"
            " WHERE user_id = %s AND item_code = %s AND quantity > 0 FOR SHARE",
            [user_id, item_code],
        )
        if cursor.fetchone() is None:
            raise ItemNotOwned(details={"item_code": item_code})
        cursor.execute(
            "INSERT INTO accounts_equippeditem (user_id, kind, item_code, equipped_at)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (user_id, kind)"
            " DO UPDATE SET item_code = EXCLUDED.item_code, equipped_at = EXCLUDED.equipped_at",
            [user_id, kind, item_code, timezone.now()],
        )
    return item_public(item_code)


@transaction.atomic(durable=True)
def item_unequip(user_id: int, kind: str) -> bool:
    """Empty the player's ``kind`` slot; returns whether an item was equipped there. Idempotent.

    Raises ``ItemNotEquippable`` for an unknown kind.
    """
    if kind not in ITEM_KINDS:
        raise ItemNotEquippable("There is no such item slot.", details={"kind": kind})
    deleted, _ = EquippedItem.objects.filter(user_id=user_id, kind=kind).delete()
    return deleted > 0
