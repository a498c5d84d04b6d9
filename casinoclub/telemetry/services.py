"""Telemetry: accept a batch from a player, sample noisy names, store in the background.

Invariants:
- whether an event is kept depends only on (user, name, ts) and the configured rate, never on
  chance: a client that re-sends a batch gets the same events kept (no ``random``);
- a request never writes to the database: one Celery task per batch stores the kept events with
  one ``bulk_create``, after the request's transaction (if any) commits;
- Prometheus labels come from a fixed allow-list of names, so clients cannot create series.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, TypedDict

from django.conf import settings

from casinoclub.queueing import task_enqueue_after_commit

from .metrics import telemetry_events_total
from .models import TelemetryEvent


class TelemetryEventInput(TypedDict):
    name: str
    ts: datetime
    props: dict[str, Any]


class StoredTelemetryEvent(TypedDict):
    """What the task receives (JSON): ``ts`` as an ISO 8601 string."""

    name: str
    ts: str
    props: dict[str, Any]
    sample_rate: float


_HASH_SCALE = float(2**64)


def telemetry_sample_rate(name: str) -> float:
    """The configured share of ``name`` events kept (1.0 when not configured)."""
    rate = float(settings.TELEMETRY_SAMPLE_RATES.get(name, 1.0))
    return min(1.0, max(0.0, rate))


def telemetry_is_sampled_in(*, user_id: int, name: str, ts: datetime, rate: float) -> bool:
    """Deterministic: the first 8 bytes of SHA-256(user:name:ts) as a fraction of 2**64 < rate.

    ``ts`` enters as its UTC ISO form, so one instant decides the same in any time zone.
    """
    if rate >= 1.0:
        return True
    instant = ts.astimezone(UTC).isoformat()
    digest = hashlib.sha256(f"{user_id}:{name}:{instant}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _HASH_SCALE < rate


def _metric_label(name: str) -> str:
    return name if name in settings.TELEMETRY_METRIC_NAMES else "other"


def telemetry_events_accept(*, user_id: int, events: list[TelemetryEventInput]) -> int:
    """Count a validated batch, keep the sampled-in events and queue them for storage.

    Returns how many events were kept. Not idempotent: a re-sent batch is stored again (the
    events carry no client id to deduplicate on).
    """
    kept: list[StoredTelemetryEvent] = []
    for event in events:
        telemetry_events_total.labels(name=_metric_label(event["name"])).inc()
        rate = telemetry_sample_rate(event["name"])
        if telemetry_is_sampled_in(user_id=user_id, name=event["name"], ts=event["ts"], rate=rate):
            kept.append(
                {
                    "name": event["name"],
                    "ts": event["ts"].isoformat(),
                    "props": event["props"],
                    "sample_rate": rate,
                }
            )
    if kept:
        from .tasks import telemetry_events_store_task  # the task module imports this one

        task_enqueue_after_commit(telemetry_events_store_task, user_id=user_id, events=kept)
    return len(kept)


def telemetry_events_store(*, user_id: int, events: list[StoredTelemetryEvent]) -> int:
    """Store one batch with one INSERT. Returns the number of rows."""
    rows = [
        TelemetryEvent(
            user_id=user_id,
            name=event["name"],
            ts=datetime.fromisoformat(event["ts"]),
            props=event["props"],
            sample_rate=event["sample_rate"],
        )
        for event in events
    ]
    return len(TelemetryEvent.objects.bulk_create(rows))


def telemetry_events_purge(*, older_than: datetime) -> int:
    deleted, _ = TelemetryEvent.objects.filter(received_at__lt=older_than).delete()
    return deleted
