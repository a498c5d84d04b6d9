"""Reads of the realtime outbox."""

from __future__ import annotations

from .messages import StoredMessage, iso_utc
from .models import RealtimeCursor, RealtimeMessage


def realtime_cursor_get(user_id: int) -> int:
    """The user's newest seq (0 before the first message)."""
    cursor = RealtimeCursor.objects.filter(user_id=user_id).only("last_seq").first()
    return cursor.last_seq if cursor else 0


def realtime_messages_since(user_id: int, seq: int, limit: int = 500) -> list[StoredMessage]:
    """Up to ``limit`` stored messages of the user with a seq above ``seq``, oldest first."""
    rows = RealtimeMessage.objects.filter(user_id=user_id, seq__gt=seq).order_by("seq")[:limit]
    return [
        {
            "type": row.type,  # type: ignore[typeddict-item]  # only stored types are written
            "user_id": user_id,
            "seq": row.seq,
            "data": row.data,
            "timestamp": iso_utc(row.created_at),
        }
        for row in rows
    ]
