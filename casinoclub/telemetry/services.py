"""Telemetry: accept a batch from a player, sample noisy names, store in the background.

Invariants:
- whether an event is kept depends only on (user, name, the server's receive instant, the event's
  place in its batch) and the configured rate, never on anything the client chooses (its ``ts``)
  and never on ``random``: a client cannot pick values that keep a sampled-out event;
- a player stores at most ``TELEMETRY_DAILY_BYTES_PER_USER`` bytes of request body per server day
  (UTC): one atomic cache counter per player and day; a refused batch is not counted;
- a request never writes to the database: one Celery task per batch stores the kept events with
  one ``bulk_create``, after the request's transaction (if any) commits;
- Prometheus labels come from a fixed allow-list of names, so clients cannot create series.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any, NotRequired, TypedDict

from django.conf import settings
from django.core.cache import cache

from casinoclub.queueing import task_enqueue_after_commit

from .exceptions import TelemetryQuotaExceeded
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
    received_at: NotRequired[str]  # ISO 8601; absent in tasks queued before it existed


_HASH_SCALE = float(2**64)


def telemetry_sample_rate(name: str) -> float:
    """The configured share of ``name`` events kept (1.0 when not configured)."""
    rate = float(settings.TELEMETRY_SAMPLE_RATES.get(name, 1.0))
    return min(1.0, max(0.0, rate))


def telemetry_is_sampled_in(
    *, user_id: int, name: str, received_at: datetime, position: int, rate: float
) -> bool:
    """Deterministic: the first 8 bytes of SHA-256(user:name:received_at:position) as a fraction
    of 2**64 < rate.

    ``received_at`` is the server's clock when the batch arrived (UTC ISO form, microseconds) and
    ``position`` the event's index in its batch, so the client's ``ts`` plays no part: repeating
    a "lucky" timestamp keeps nothing more than the rate.
    """
    if rate >= 1.0:
        return True
    instant = received_at.astimezone(UTC).isoformat()
    digest = hashlib.sha256(f"{user_id}:{name}:{instant}:{position}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _HASH_SCALE < rate


_QUOTA_KEY = "telemetry:bytes:{user_id}:{day}"


def telemetry_quota_take(*, user_id: int, size: int, received_at: datetime) -> None:
    """Count ``size`` bytes against the player's quota for the server's day of ``received_at``.

    Raises ``TelemetryQuotaExceeded`` (nothing counted then) when the day's total would pass
    ``TELEMETRY_DAILY_BYTES_PER_USER``. Atomic across processes (a Redis ``INCRBY``).
    """
    quota = settings.TELEMETRY_DAILY_BYTES_PER_USER
    now = received_at.astimezone(UTC)
    key = _QUOTA_KEY.format(user_id=user_id, day=now.date().isoformat())
    cache.add(key, 0, timeout=int(timedelta(days=2).total_seconds()))
    try:
        total = cache.incr(key, size)
    except ValueError:  # expired between add and incr: start the day's count again
        cache.set(key, size, timeout=int(timedelta(days=2).total_seconds()))
        total = size
    if total > quota:
        cache.decr(key, size)
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        raise TelemetryQuotaExceeded(
            details={
                "daily_quota_bytes": quota,
                "retry_after_seconds": max(1, int((midnight - now).total_seconds())),
            }
        )


def _metric_label(name: str) -> str:
    return name if name in settings.TELEMETRY_METRIC_NAMES else "other"


def telemetry_events_accept(
    *,
    user_id: int,
    events: list[TelemetryEventInput],
    body_bytes: int,
    received_at: datetime,
) -> int:
    """Take ``body_bytes`` from the day's quota, count a validated batch, keep the sampled-in
    events and queue them for storage.

    ``received_at`` is the server's clock when the request arrived. Returns how many events were
    kept. Raises ``TelemetryQuotaExceeded`` (nothing counted, kept or queued). Not idempotent: a
    re-sent batch is stored again (the events carry no client id to deduplicate on).
    """
    telemetry_quota_take(user_id=user_id, size=body_bytes, received_at=received_at)
    kept: list[StoredTelemetryEvent] = []
    for position, event in enumerate(events):
        telemetry_events_total.labels(name=_metric_label(event["name"])).inc()
        rate = telemetry_sample_rate(event["name"])
        if telemetry_is_sampled_in(
            user_id=user_id,
            name=event["name"],
            received_at=received_at,
            position=position,
            rate=rate,
        ):
            kept.append(
                {
                    "name": event["name"],
                    "ts": event["ts"].isoformat(),
                    "props": event["props"],
                    "sample_rate": rate,
                    "received_at": received_at.isoformat(),
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
            **(
                {"received_at": datetime.fromisoformat(event["received_at"])}
                if "received_at" in event
                else {}
            ),
        )
        for event in events
    ]
    return len(TelemetryEvent.objects.bulk_create(rows))


def telemetry_events_purge(*, older_than: datetime) -> int:
    deleted, _ = TelemetryEvent.objects.filter(received_at__lt=older_than).delete()
    return deleted
