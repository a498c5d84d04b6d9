"""The domain event log: the one record of what a money transaction made true.

Invariants:
- every settled round, succeeded or reversed purchase and claimed reward appends exactly one row,
  in the transaction that made it true (so the event exists if and only if the fact committed);
- rows are never changed or deleted by the product; projections (``casinoclub.projections``)
  derive everything else from them, in batches, after the money transaction has committed;
- each row records its writer's transaction id, which lets projections read the log safely while
  writers commit out of id order.

The writer names the fact and its payload; it never imports who reacts to it, so dependencies keep
pointing one way (games and shop know nothing of progression).
"""

from __future__ import annotations

import json
from typing import Any, Literal, get_args

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

EventType = Literal[
    "round_settled",
    "purchase_succeeded",
    "purchase_reversed",
    "reward_claimed",
    "purchase_review_flagged",
]
EVENT_TYPES: frozenset[str] = frozenset(get_args(EventType))


def user_partition(user_id: int) -> int:
    """The projection partition that owns a player's events (``PROJECTION_PARTITIONS``)."""
    return user_id % max(1, settings.PROJECTION_PARTITIONS)


def domain_event_append(event_type: EventType, user_id: int, payload: dict[str, Any]) -> int:
    """Append one event in the caller's transaction and return its id (one statement).

    Must run inside the transaction that made the fact true. After that transaction commits the
    projections of the player's partition are asked to run (a Celery task; the beat backstop
    catches up when the broker is unreachable). Not idempotent: call it once per fact.
    """
    from casinoclub.queueing import task_enqueue_after_commit
    from casinoclub.tasks import projections_run_task

    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown domain event type {event_type!r}")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO casinoclub_domainevent"
            " (type, user_id, payload, created_at, transaction_id)"
            " VALUES (%s, %s, %s::jsonb, %s, pg_current_xact_id()::text::bigint) RETURNING id",
            [
                event_type,
                user_id,
                json.dumps(payload, cls=DjangoJSONEncoder),
                timezone.now(),
            ],
        )
        row = cursor.fetchone()
    assert row is not None
    task_enqueue_after_commit(projections_run_task, partition=user_partition(user_id))
    return int(row[0])


def domain_event_row(
    event_type: EventType, user_id: int, payload: dict[str, Any]
) -> tuple[str, str, list[Any]]:
    """``domain_event_append`` for a money service that writes the event inside its own statement
    (``accounts.services.RowInsert``): the table and columns, the select list and its parameters.

    Must be called inside the transaction that made the fact true, and the row must be written
    in it; the projections are asked to run after the commit. Not idempotent.
    """
    from casinoclub.queueing import task_enqueue_after_commit
    from casinoclub.tasks import projections_run_task

    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown domain event type {event_type!r}")
    task_enqueue_after_commit(projections_run_task, partition=user_partition(user_id))
    return (
        "casinoclub_domainevent (type, user_id, payload, created_at, transaction_id)",
        "%s, %s, %s::jsonb, %s, pg_current_xact_id()::text::bigint",
        [event_type, user_id, json.dumps(payload, cls=DjangoJSONEncoder), timezone.now()],
    )
