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

import functools
import json
from collections.abc import Iterable
from typing import Any, Literal, get_args

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
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


def _kick_key(partition: int) -> str:
    return f"projections:kick:{partition}"


def projections_kick(partition: int) -> bool:
    """Ask the partition's projections to run, unless a run already asked for has not started.

    Sending a Celery task per committed event made the worker run one batch per event and cost
    every spin a broker publish. Instead the first commit after a run started sets a short-lived
    flag (``SET NX`` with ``PROJECTION_KICK_SECONDS``) and sends the task to run after
    ``PROJECTION_KICK_DELAY_SECONDS`` (so a batch gathers the commits of that interval); later
    commits see the flag and send nothing, because that run clears the flag *before* it reads the
    log (``projections_kick_clear``) and so reads their events too. A flag left behind by a lost
    task expires; beat's backstop runs every partition meanwhile. Returns whether a task was sent.
    """
    from casinoclub.queueing import task_enqueue
    from casinoclub.tasks import projections_run_task

    if not cache.add(_kick_key(partition), 1, timeout=settings.PROJECTION_KICK_SECONDS):
        return False
    if task_enqueue(
        projections_run_task, partition=partition, countdown=settings.PROJECTION_KICK_DELAY_SECONDS
    ):
        return True
    projections_kick_clear(partition)  # not sent: the next commit tries again
    return False


def projections_kick_clear(partition: int) -> None:
    """Called by a partition's run before it reads the log: the next commit sends a new task."""
    cache.delete(_kick_key(partition))


def _kick_after_commit(user_id: int) -> None:
    transaction.on_commit(functools.partial(projections_kick, user_partition(user_id)))


def domain_event_append(event_type: EventType, user_id: int, payload: dict[str, Any]) -> int:
    """Append one event in the caller's transaction and return its id (one statement).

    Must run inside the transaction that made the fact true. After that transaction commits the
    projections of the player's partition are asked to run (``projections_kick``; the beat
    backstop catches up when the broker is unreachable). Not idempotent: call it once per fact.
    """
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
    _kick_after_commit(user_id)
    return int(row[0])


def domain_event_row(
    event_type: EventType, user_id: int, payload: dict[str, Any]
) -> tuple[str, str, list[Any]]:
    """``domain_event_append`` for a money service that writes the event inside its own statement
    (``accounts.services.RowInsert``): the table and columns, the select list and its parameters.

    Must be called inside the transaction that made the fact true, and the row must be written
    in it; the projections are asked to run after the commit. Not idempotent.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown domain event type {event_type!r}")
    _kick_after_commit(user_id)
    return (
        "casinoclub_domainevent (type, user_id, payload, created_at, transaction_id)",
        "%s, %s, %s::jsonb, %s, pg_current_xact_id()::text::bigint",
        [event_type, user_id, json.dumps(payload, cls=DjangoJSONEncoder), timezone.now()],
    )


def domain_events_appended(user_ids: Iterable[int]) -> None:
    """A set-based statement appended events of these players (the columns of
    ``domain_event_row``, one row per fact, in the transaction that made them true): ask their
    partitions' projections to run after the commit, once per partition."""
    for partition in sorted({user_partition(user_id) for user_id in user_ids}):
        transaction.on_commit(functools.partial(projections_kick, partition))
