"""Player inventory. Quantities change with one upsert, never read-modify-write."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone


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
