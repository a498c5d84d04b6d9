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
