"""The warehouse export: the event log and the rollups as JSON Lines (docs/analytics-export.md).

Invariants:
- One flat JSON object per line (no nesting: an event's payload is a JSON-encoded string), dates
  as ``YYYY-MM-DD``, times as ISO 8601 in UTC with ``Z``, integers as JSON integers, missing
  values as ``null``: what ClickHouse's ``JSONEachRow`` and BigQuery's newline-delimited JSON load.
- A range export (``since``/``until``, days of the product time zone) writes the same bytes
  every time for the same data: re-exporting a range is idempotent.
- A resumed export (``resume=True``) writes the events after the cursor in ``cursor.json`` and
  moves the cursor only after every file is complete. Like the projections it reads only events
  whose writing transaction is older than every running one, in (transaction id, id) order, so an
  event that commits late behind a higher id is exported on the next run, never skipped.
- Files are written beside under a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from analytics.selectors import ROLLUP_TABLES
from analytics.services.rollups import day_bounds

CURSOR_FILE = "cursor.json"
EVENTS_FILE = "domain_events.jsonl"
CHUNK = 5000

_EVENT_COLUMNS = "id, type, user_id, created_at, transaction_id, payload::text"


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _line(row: dict[str, Any]) -> str:
    return json.dumps({key: _value(value) for key, value in row.items()}, ensure_ascii=False,
                      separators=(",", ":")) + "\n"  # fmt: skip


def _write(path: Path, lines: Iterator[str]) -> int:
    temporary = path.with_name(path.name + ".partial")
    count = 0
    with temporary.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(line)
            count += 1
    os.replace(temporary, path)
    return count


def _events(where: str, params: list[Any], order: str) -> Iterator[dict[str, Any]]:
    """The selected events, streamed with a server-side cursor (constant memory)."""
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT {_EVENT_COLUMNS} FROM casinoclub_domainevent WHERE {where} ORDER BY {order}",  # noqa: S608  # fixed clauses
            params,
        )
        while rows := cursor.fetchmany(CHUNK):
            for event_id, kind, user_id, created_at, transaction_id, payload in rows:
                yield {"id": event_id, "type": kind, "user_id": user_id,
                       "created_at": created_at, "transaction_id": transaction_id,
                       "payload": payload}  # fmt: skip


def _rollups(out_dir: Path, since: date, until: date) -> dict[str, int]:
    counts = {}
    for name, table in ROLLUP_TABLES.items():
        columns = (table.day_field, *table.key, *table.stored)
        rows = (
            table.model._default_manager.filter(
                **{f"{table.day_field}__gte": since, f"{table.day_field}__lte": until}
            )
            .order_by(table.day_field, *table.key)
            .values_list(*columns)
        )
        counts[name] = _write(
            out_dir / f"analytics_{name}.jsonl",
            (_line(dict(zip(columns, row, strict=True))) for row in rows.iterator(CHUNK)),
        )
    return counts


def cursor_read(out_dir: Path) -> dict[str, Any]:
    path = out_dir / CURSOR_FILE
    if not path.exists():
        return {"last_transaction_id": 0, "last_event_id": 0}
    data = json.loads(path.read_text())
    return {"last_transaction_id": int(data["last_transaction_id"]),
            "last_event_id": int(data["last_event_id"])}  # fmt: skip


def export_range(out_dir: Path, since: date, until: date) -> dict[str, int]:
    """Events created on the days [since, until] (by id) and the rollups of those days."""
    out_dir.mkdir(parents=True, exist_ok=True)
    start, _ = day_bounds(since)
    _, end = day_bounds(until)
    counts = {"events": _write(
        out_dir / EVENTS_FILE,
        (_line(row) for row in _events("created_at >= %s AND created_at < %s", [start, end], "id")),
    )}  # fmt: skip
    counts.update(_rollups(out_dir, since, until))
    return counts


def export_resume(out_dir: Path, since: date, until: date) -> dict[str, int]:
    """Events after the cursor (up to the end of ``until``) and the rollups of [since, until];
    the cursor moves to the last event written, after every file is complete."""
    out_dir.mkdir(parents=True, exist_ok=True)
    position = cursor_read(out_dir)
    _, end = day_bounds(until)
    last = [position["last_transaction_id"], position["last_event_id"]]

    def lines() -> Iterator[str]:
        for row in _events(
            "(transaction_id, id) > (%s, %s) AND created_at < %s "
            "AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
            [*last, end],
            "transaction_id, id",
        ):
            last[:] = [row["transaction_id"], row["id"]]
            yield _line(row)

    counts = {"events": _write(out_dir / EVENTS_FILE, lines())}
    counts.update(_rollups(out_dir, since, until))
    cursor = {"last_transaction_id": last[0], "last_event_id": last[1],
              "exported_at": _value(timezone.now()), "events": counts["events"]}  # fmt: skip
    _write(out_dir / CURSOR_FILE, iter([json.dumps(cursor, indent=2) + "\n"]))
    return counts
