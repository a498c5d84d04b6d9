"""Projections: everything derived from the event log, applied in batches after the money commit.

Invariants:
- a projection applies a batch of events and moves its cursor in ONE transaction, so each event is
  applied exactly once (a failing batch rolls back with its cursor and is retried whole);
- the log is read in (transaction id, id) order and only up to the oldest running transaction
  (``pg_snapshot_xmin(pg_current_snapshot())``): an event whose writer is still running cannot be
  passed over when a later id commits first (the outbox pitfall);
- players are split into ``PROJECTION_PARTITIONS`` partitions (``user_id mod N``); each
  (projection, partition) has its own cursor row, locked for the batch, so any number of workers
  can run and at most one applies a given partition of a given projection at a time;
- a projection registers from its app's ``ready()``; ``casinoclub`` never imports the apps.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from prometheus_client import REGISTRY, Histogram
from prometheus_client.core import GaugeMetricFamily

from casinoclub.models import ProjectionCursor
from casinoclub.realtime.services import (
    realtime_progress_coalescing_start,
    realtime_progress_coalescing_stop,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 500

projection_batch_seconds = Histogram(
    "projection_batch_seconds",
    "Time to apply one projection batch (read, writes, cursor) in its transaction.",
    ["projection"],
)


@dataclass(frozen=True)
class Event:
    id: int
    type: str
    user_id: int
    payload: dict[str, Any]
    created_at: datetime
    transaction_id: int


@dataclass(frozen=True)
class Projection:
    """``apply`` runs inside the batch transaction with the batch's events in log order.

    ``reset`` deletes the derived state (for ``rebuild_projection``: the log is then replayed
    from zero); ``repair`` is the rebuild of a projection whose replay would pay rewards or send
    messages again: given the events its cursors have applied, it recomputes the state and writes
    it, paying and sending nothing, and returns how many rows it changed; ``differences``
    recomputes the state from the log (and ledger) and returns a line per disagreement
    (``check_projections``).
    """

    name: str
    event_types: frozenset[str]
    apply: Callable[[list[Event]], None]
    reset: Callable[[], None] | None = None
    differences: Callable[[], list[str]] | None = None
    repair: Callable[[list[Event]], int] | None = None
    batch_size: int = BATCH_SIZE  # events per batch


def _event(row: tuple[Any, ...]) -> Event:
    """A log row as read by a raw cursor (Django leaves jsonb as text)."""
    payload = row[3] if isinstance(row[3], dict) else json.loads(row[3])
    return Event(row[0], row[1], row[2], payload, row[4], row[5])


_REGISTRY: dict[str, Projection] = {}


def projection_register(projection: Projection) -> None:
    """Register a projection (from an app's ``ready()``). Registering a name again replaces it."""
    _REGISTRY[projection.name] = projection


def projections_all() -> list[Projection]:
    return list(_REGISTRY.values())


def projection_get(name: str) -> Projection:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown projection {name!r}; known: {sorted(_REGISTRY)}") from None


def partitions_count() -> int:
    return max(1, settings.PROJECTION_PARTITIONS)


PROJECTION_QUEUE = "projections.{partition}"


def projection_task_route(
    name: str,
    args: Sequence[Any],
    kwargs: dict[str, Any],
    options: dict[str, Any],
    *_: Any,
    **__: Any,
) -> dict[str, str] | None:
    """Celery router (``CELERY_TASK_ROUTES``): a partition's run goes to that partition's queue,
    ``projections.<n>``, which one worker consumes, so N workers own N hash ranges of players.
    The beat backstop (every partition) stays on the default queue."""
    if name != "casinoclub.tasks.projections_run_task":
        return None
    partition = kwargs.get("partition") if kwargs else (args[0] if args else None)
    if partition is None:
        return None
    return {"queue": PROJECTION_QUEUE.format(partition=partition)}


# Events the reader may see: written by a transaction older than every running one (committed or
# aborted; an aborted one left no row), or by the reader's own transaction. The latter only happens
# when the runner is nested in a transaction that appended events itself (tests; production runs
# each batch as an outermost, durable transaction that reads before it writes any event).
_EVENTS_READ = """
SELECT id, type, user_id, payload, created_at, transaction_id
FROM casinoclub_domainevent
WHERE (transaction_id, id) > (%(last_xid)s, %(last_id)s)
  AND (transaction_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
       OR transaction_id = pg_current_xact_id_if_assigned()::text::bigint)
  AND type = ANY(%(types)s)
  AND (%(partitions)s = 1 OR mod(user_id, %(partitions)s) = %(partition)s)
ORDER BY transaction_id, id
LIMIT %(limit)s
"""


def _events_read(
    projection: Projection, cursor_row: ProjectionCursor, partition: int, limit: int
) -> list[Event]:
    with connection.cursor() as cursor:
        cursor.execute(
            _EVENTS_READ,
            {
                "last_xid": cursor_row.last_transaction_id,
                "last_id": cursor_row.last_event_id,
                "types": sorted(projection.event_types),
                "partitions": partitions_count(),
                "partition": partition,
                "limit": limit,
            },
        )
        return [_event(row) for row in cursor.fetchall()]


class PartitionsChanged(RuntimeError):
    """``PROJECTION_PARTITIONS`` differs from the count the cursors were made with."""


def _cursors_lock(names: Sequence[str], partition: int) -> dict[str, ProjectionCursor]:
    """The cursor rows of ``names`` in one partition, created on first use, locked in name order
    (the order every runner takes them, so two runners never deadlock)."""
    count = partitions_count()
    if not 0 <= partition < count:
        raise ValueError(f"partition {partition} is outside 0..{count - 1}")
    ProjectionCursor.objects.bulk_create(
        [ProjectionCursor(name=name, partition=partition, partitions=count) for name in names],
        ignore_conflicts=True,
    )
    rows = {
        row.name: row
        for row in ProjectionCursor.objects.select_for_update()
        .filter(name__in=list(names), partition=partition)
        .order_by("name")
    }
    for row in rows.values():
        if row.partitions != count:
            raise PartitionsChanged(
                f"projection {row.name!r} was partitioned {row.partitions} ways, the setting says"
                f" {count}: re-partitioning is an offline step (docs/decisions/0140)"
            )
    return rows


def _cursor_lock(name: str, partition: int) -> ProjectionCursor:
    return _cursors_lock([name], partition)[name]


def _position(event: Event) -> tuple[int, int]:
    return (event.transaction_id, event.id)


def _batch_apply(
    selected: Sequence[Projection], partition: int, limit: int | None = None
) -> dict[str, int]:
    """Apply the next batch of each of ``selected`` (one partition) in the caller's transaction.

    Every event is read before anything is applied (so no projection reads an event this
    transaction appends: the next batch does, after the commit). The batches end at one common
    log position: a projection whose batch is full sets the end for all, so the projections that
    are level apply the same rounds together and their progress leaves in one ``progress_update``
    per player. Returns how many events each projection applied.
    """
    cursors = _cursors_lock(sorted(projection.name for projection in selected), partition)
    batches: dict[str, list[Event]] = {}
    full_ends: list[tuple[int, int]] = []
    for projection in selected:
        size = limit or projection.batch_size
        events = _events_read(projection, cursors[projection.name], partition, size)
        batches[projection.name] = events
        if len(events) >= size:
            full_ends.append(_position(events[-1]))
    if full_ends:
        end = min(full_ends)
        batches = {
            name: [event for event in events if _position(event) <= end]
            for name, events in batches.items()
        }
    if not any(batches.values()):
        return {}
    timings: dict[str, float] = {}
    coalescer = realtime_progress_coalescing_start()
    try:
        for projection in selected:
            events = batches[projection.name]
            if events:
                started = time.perf_counter()
                projection.apply(events)
                timings[projection.name] = time.perf_counter() - started
        coalescer.flush()  # one progress_update per player per batch, across the projections
    finally:
        realtime_progress_coalescing_stop()
    now = timezone.now()
    for name, events in batches.items():
        if not events:
            continue
        cursor_row, last = cursors[name], events[-1]
        cursor_row.last_transaction_id = last.transaction_id
        cursor_row.last_event_id = last.id
        cursor_row.last_event_created_at = last.created_at
        cursor_row.updated_at = now
        cursor_row.save()

    def observe() -> None:
        for name, elapsed in timings.items():
            projection_batch_seconds.labels(projection=name).observe(elapsed)

    transaction.on_commit(observe)
    return {name: len(events) for name, events in batches.items() if events}


@transaction.atomic(durable=True)
def projection_batch_apply(name: str, partition: int = 0, *, limit: int | None = None) -> int:
    """Apply the next batch of one projection's partition; return how many events it applied.

    One transaction: lock the cursor row, read up to ``limit`` (the projection's ``batch_size``)
    safe events after it, apply them, move the cursor. Any error rolls all of it back (the same
    events are read again next time).
    """
    return _batch_apply([projection_get(name)], partition, limit).get(name, 0)


@transaction.atomic(durable=True)
def projections_batch_apply(names: Sequence[str], partition: int = 0) -> dict[str, int]:
    """Apply the next batch of several projections of one partition in ONE transaction.

    The cursors are locked in name order, each projection reads its safe events after its
    cursor, the batches end at a common log position, the projections apply in registration
    order, their progress messages fold into one ``progress_update`` per player, and every cursor
    moves, all in the same transaction: a round's stats, XP, achievements and missions reach the
    player together. Any error rolls all of it back. Returns the events applied per projection.
    """
    return _batch_apply([projection_get(name) for name in names], partition)


def _projection_run_alone(projection: Projection, partition: int, max_batches: int) -> int:
    applied = 0
    for _batch in range(max_batches):
        count = projection_batch_apply(projection.name, partition)
        applied += count
        if count == 0:
            break
    return applied


def projections_run(
    partitions: Sequence[int] | None = None,
    *,
    names: Sequence[str] | None = None,
    max_batches: int = 100,
    until_caught_up: bool = True,
) -> int:
    """Apply every (named) projection of the given partitions (all by default) until caught up.

    Each batch applies every selected projection of a partition together
    (``projections_batch_apply``); the passes repeat while one applied anything, so a projection
    fed by events another projection appended (a review flag found by progression) sees them in
    the same run. With ``until_caught_up=False`` (the run a commit asked for) a partition's
    batches go on only while they come back full (a backlog) and there is one pass: what commits
    meanwhile, the events the batch appended included, has asked for the next run, and a batch
    that gathered the interval's commits costs far less per event than a stream of small ones.
    When a combined batch fails, the partition's projections run one by one so the healthy ones
    still advance; a failing projection is logged and the first error is raised at the end.
    Returns how many events were applied in all.
    """
    owned = list(range(partitions_count())) if partitions is None else list(partitions)
    selected = projections_all() if names is None else [projection_get(n) for n in names]
    selected_names = [projection.name for projection in selected]
    applied = 0
    first_error: Exception | None = None
    for _pass in range(3):
        applied_in_pass = 0
        for partition in owned:
            try:
                for _batch in range(max_batches):
                    counts = projections_batch_apply(selected_names, partition)
                    applied_in_pass += sum(counts.values())
                    if not counts or not (until_caught_up or _any_full(counts)):
                        break
                continue
            except Exception:
                logger.exception("projections of partition %s failed together", partition)
            for projection in selected:  # one by one: the healthy ones still advance
                try:
                    applied_in_pass += _projection_run_alone(projection, partition, max_batches)
                except Exception as error:
                    logger.exception("projection %s[%s] failed", projection.name, partition)
                    first_error = first_error or error
        applied += applied_in_pass
        if applied_in_pass == 0 or first_error is not None or not until_caught_up:
            break
    if first_error is not None:
        raise first_error
    return applied


def _any_full(counts: dict[str, int]) -> bool:
    return any(count >= projection_get(name).batch_size for name, count in counts.items())


def projection_reset(name: str) -> None:
    """Delete a projection's derived state and its cursors, in one transaction (rebuild)."""
    projection = projection_get(name)
    if projection.reset is None:
        raise ValueError(f"projection {name!r} cannot be rebuilt")
    with transaction.atomic(durable=True):
        ProjectionCursor.objects.select_for_update().filter(name=name).order_by("pk").exists()
        projection.reset()
        ProjectionCursor.objects.filter(name=name).delete()


def projection_repair(name: str) -> int:
    """Rebuild a projection that pays rewards or sends messages: apply what is pending, then, in
    one transaction holding every partition's cursor (no batch of it runs meanwhile), recompute
    its state from exactly the events the cursors have applied and write it. Pays nothing and
    sends nothing; rewards are compared with the ledger by ``check_projections``. Returns how
    many rows changed."""
    projection = projection_get(name)
    if projection.repair is None:
        raise ValueError(f"projection {name!r} cannot be repaired")
    projections_run(names=[name])
    with transaction.atomic(durable=True):
        cursors = {
            cursor.partition: (cursor.last_transaction_id, cursor.last_event_id)
            for cursor in ProjectionCursor.objects.select_for_update()
            .filter(name=name)
            .order_by("partition")
        }
        count = partitions_count()
        applied = [
            event
            for event in events_of_types(projection.event_types)
            if (event.transaction_id, event.id) <= cursors.get(event.user_id % count, (0, 0))
        ]
        return projection.repair(applied)


class RepartitionRefused(RuntimeError):
    """An event below the projections' common end is not applied yet: run them and try again."""


def projections_repartition(partitions: int) -> dict[str, tuple[int, int]]:
    """Move every registered projection from ``PROJECTION_PARTITIONS`` partitions to
    ``partitions``; return each projection's common end, (transaction id, event id).

    Applies what is pending with the current partitions, then in one transaction locks every
    cursor (no batch runs meanwhile), finds each projection's common end (the furthest of its
    cursors), refuses when any partition still has an unapplied event at or before that end, and
    replaces the cursors with ``partitions`` new ones at the end. Nothing is applied twice or
    skipped: every event up to the end is applied, and an event committed later (writers may keep
    running: a later writer's event lies beyond every cursor, see the reading rule) is applied by
    its new partition. Then set ``PROJECTION_PARTITIONS`` to ``partitions`` everywhere and restart
    the workers; until then a runner with the old setting refuses (``PartitionsChanged``).
    """
    if not 1 <= partitions <= 1024:
        raise ValueError("partitions must be between 1 and 1024")
    projections_run()
    count = partitions_count()
    ends: dict[str, tuple[int, int]] = {}
    with transaction.atomic(durable=True):
        selected = sorted(projections_all(), key=lambda projection: projection.name)
        cursors = {
            (row.name, row.partition): row
            for row in ProjectionCursor.objects.select_for_update()
            .filter(name__in=[projection.name for projection in selected])
            .order_by("name", "partition")
        }
        for projection in selected:
            own = [row for (name, _p), row in cursors.items() if name == projection.name]
            if any(row.partitions != count for row in own):
                raise PartitionsChanged(f"projection {projection.name!r}: cursors of another N")
            last = max(
                own, key=lambda row: (row.last_transaction_id, row.last_event_id), default=None
            )
            end = (last.last_transaction_id, last.last_event_id) if last else (0, 0)
            for partition in range(count):
                row = cursors.get((projection.name, partition))
                start = (row.last_transaction_id, row.last_event_id) if row else (0, 0)
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT id FROM casinoclub_domainevent"
                        " WHERE (transaction_id, id) > (%s, %s)"
                        " AND (transaction_id, id) <= (%s, %s) AND type = ANY(%s)"
                        " AND (%s = 1 OR mod(user_id, %s) = %s) LIMIT 1",
                        [*start, *end, sorted(projection.event_types), count, count, partition],
                    )
                    behind = cursor.fetchone()
                if behind is not None:
                    raise RepartitionRefused(
                        f"projection {projection.name!r} partition {partition} has not applied"
                        f" event {behind[0]} yet: run the projections and try again"
                    )
            ends[projection.name] = end
            ProjectionCursor.objects.filter(name=projection.name).delete()
            now = timezone.now()
            ProjectionCursor.objects.bulk_create(
                [
                    ProjectionCursor(
                        name=projection.name,
                        partition=partition,
                        partitions=partitions,
                        last_transaction_id=end[0],
                        last_event_id=end[1],
                        last_event_created_at=last.last_event_created_at if last else None,
                        updated_at=now,
                    )
                    for partition in range(partitions)
                ]
            )
    return ends


def projection_lag_seconds(name: str) -> float:
    """Age of the oldest event the projection has not applied (in any partition); when it is
    caught up, how late the newest applied event was applied (its cursor's move minus the event's
    time; 0 when it has applied nothing), so an idle projection does not look late."""
    projection = projection_get(name)
    now = timezone.now()
    oldest: datetime | None = None
    newest_lag: float | None = None
    cursors = {c.partition: c for c in ProjectionCursor.objects.filter(name=name)}
    for partition in range(partitions_count()):
        cursor_row = cursors.get(partition) or ProjectionCursor(name=name, partition=partition)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT min(created_at) FROM casinoclub_domainevent"
                " WHERE (transaction_id, id) > (%(last_xid)s, %(last_id)s)"
                " AND type = ANY(%(types)s)"
                " AND (%(partitions)s = 1 OR mod(user_id, %(partitions)s) = %(partition)s)",
                {
                    "last_xid": cursor_row.last_transaction_id,
                    "last_id": cursor_row.last_event_id,
                    "types": sorted(projection.event_types),
                    "partitions": partitions_count(),
                    "partition": partition,
                },
            )
            row = cursor.fetchone()
        pending = row[0] if row else None
        if pending is not None and (oldest is None or pending < oldest):
            oldest = pending
        event_at = cursor_row.last_event_created_at
        if event_at is not None:
            lag = (cursor_row.updated_at - event_at).total_seconds()
            newest_lag = lag if newest_lag is None else max(newest_lag, lag)
    if oldest is not None:
        return max(0.0, (now - oldest).total_seconds())
    return max(0.0, newest_lag or 0.0)


def events_of_types(types: frozenset[str]) -> list[Event]:
    """Every committed event of these types in log order (rebuild checks; not for hot paths)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, type, user_id, payload, created_at, transaction_id"
            " FROM casinoclub_domainevent WHERE type = ANY(%s) ORDER BY transaction_id, id",
            [sorted(types)],
        )
        return [_event(row) for row in cursor.fetchall()]


# ---------------------------------------------------------------- lag gauge

_LAG_KEY = "projection_lag_seconds:{name}"
_LAG_MAX_AGE_SECONDS = 120


def projection_lags_record() -> dict[str, float]:
    """Measure every projection's lag and store it in Redis (the beat backstop calls this), so
    every web process exports the same ``projection_lag_seconds{projection=…}``. A value older
    than two minutes is dropped: a dead beat shows as an absent series, never as a healthy one."""
    from django.core.cache import cache

    lags = {
        projection.name: projection_lag_seconds(projection.name) for projection in projections_all()
    }
    try:
        cache.set_many(
            {_LAG_KEY.format(name=name): lag for name, lag in lags.items()}, _LAG_MAX_AGE_SECONDS
        )
    except Exception as error:  # Redis down: projections still run; the series goes absent
        logger.warning("projection lag: cannot write Redis: %r", error)
    return lags


class ProjectionLagCollector:
    """Exports ``projection_lag_seconds`` per registered projection from the stored values."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("projection_lag_seconds", _LAG_DOC, labels=["projection"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.core.cache import cache

        family = GaugeMetricFamily("projection_lag_seconds", _LAG_DOC, labels=["projection"])
        names = [projection.name for projection in projections_all()]
        try:
            values = cache.get_many([_LAG_KEY.format(name=name) for name in names])
        except Exception as error:  # Redis down: the family without samples
            logger.warning("projection lag: cannot read Redis: %r", error)
            values = {}
        for name in names:
            key = _LAG_KEY.format(name=name)
            if key in values:
                family.add_metric([name], float(values[key]))
        yield family


_LAG_DOC = (
    "Age in seconds of the oldest event a projection has not applied; when caught up, how late"
    " its newest applied event was applied."
)
LAG_COLLECTOR = ProjectionLagCollector()
REGISTRY.register(LAG_COLLECTOR)
