"""Public live metrics (JSON and Server-Sent Events) and the Prometheus endpoint."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections, connection
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casinoclub import projections, stored_gauges
from casinoclub.client_address import client_address
from casinoclub.errors import error_body
from casinoclub.throttling import ScopedRateThrottle

from . import selectors
from .metrics import metrics_streams_active, metrics_streams_closed_total
from .serializers import GlobalMetricsSerializer


class GlobalMetricsView(APIView):
    """Players online, slot spins and big wins in the last hour. No login; cached 5 s; rate
    limited per IP. The same JSON streams from /api/metrics/stream as Server-Sent Events."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "public_metrics"

    @extend_schema(responses={200: GlobalMetricsSerializer}, operation_id="metrics_global")
    def get(self, request: Request) -> Response:
        return Response(selectors.global_metrics())


# ---------------------------------------------------------------- Server-Sent Events

# Indirections the tests replace to run a ten-minute stream without waiting ten minutes.
stream_clock = time.monotonic
stream_sleep = asyncio.sleep


def _snapshot_holding_no_connection() -> dict[str, Any]:
    """The cached snapshot, read on the request's sync thread; its database connection (if the
    cache missed) is closed before returning, so an open stream holds none between events."""
    close_old_connections()
    try:
        return selectors.global_metrics()
    finally:
        if not connection.in_atomic_block:
            connection.close()


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def _metrics_events(
    interval: int, max_seconds: float, slot_key: str | None = None
) -> AsyncIterator[bytes]:
    """One ``metrics`` event now and every ``interval`` seconds; an ``end`` event and the end of
    the response after ``max_seconds``. A client disconnect cancels the await in progress. The
    stream's concurrency slot (``slot_key``) is given back however it ends."""
    started = stream_clock()
    reason = "disconnect"
    metrics_streams_active.inc()
    try:
        yield f"retry: {interval * 1000}\n\n".encode()
        while True:
            snapshot = await sync_to_async(_snapshot_holding_no_connection)()
            yield _event("metrics", snapshot)
            if stream_clock() - started + interval > max_seconds:
                break
            await stream_sleep(interval)
        reason = "max_duration"
        yield _event("end", {"reason": reason})
    finally:
        metrics_streams_active.dec()
        metrics_streams_closed_total.labels(reason=reason).inc()
        if slot_key is not None:
            await _stream_slot_release(slot_key)


def _stream_error(status: int, code: str, message: str, details: Any = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=status)


async def _stream_open_allowed(request: HttpRequest) -> bool:
    """At most METRICS_STREAM_OPENS_PER_MINUTE new streams per client IP and minute (Redis)."""
    ident = client_address(request) or "unknown"
    key = f"ops:metrics_stream:{ident}:{int(time.time() // 60)}"
    await cache.aadd(key, 0, 120)
    opened = await cache.aincr(key)
    return bool(opened <= settings.METRICS_STREAM_OPENS_PER_MINUTE)


# A slot outlives the longest stream by this much, then frees itself: a process that died
# mid-stream (no ``finally``) cannot keep a client's slot for longer.
STREAM_SLOT_GRACE_SECONDS = 60


def _stream_slot_keys(ident: str) -> list[str]:
    return [
        f"ops:metrics_stream_slot:{ident}:{slot}"
        for slot in range(settings.METRICS_STREAM_MAX_PER_CLIENT)
    ]


async def _stream_slot_acquire(request: HttpRequest) -> str | None:
    """One of the client's METRICS_STREAM_MAX_PER_CLIENT concurrent stream slots, or None.

    Each slot is a Redis key taken with SET NX (``cache.add``) and an expiry just past
    METRICS_STREAM_MAX_SECONDS, so two processes never take the same slot and a crashed process
    leaks none for long."""
    ident = client_address(request) or "unknown"
    timeout = settings.METRICS_STREAM_MAX_SECONDS + STREAM_SLOT_GRACE_SECONDS
    for key in _stream_slot_keys(ident):
        if await cache.aadd(key, 1, timeout):
            return key
    return None


async def _stream_slot_release(key: str) -> None:
    await cache.adelete(key)


@require_GET
async def metrics_stream(request: HttpRequest) -> HttpResponseBase:
    """``GET /api/metrics/stream?interval=5``: the public metrics as Server-Sent Events.

    ``interval`` 2–30 seconds (default 5); each event is ``event: metrics`` with the JSON of
    ``/api/metrics/global``. Ends by itself after ``METRICS_STREAM_MAX_SECONDS``.
    """
    if not isinstance(request, ASGIRequest):
        # Under WSGI Django would buffer the whole stream first; the proxy sends it to daphne.
        return _stream_error(503, "stream_unavailable", "Streams are served over ASGI only.")
    raw = request.GET.get("interval", str(settings.METRICS_STREAM_DEFAULT_INTERVAL))
    low, high = settings.METRICS_STREAM_MIN_INTERVAL, settings.METRICS_STREAM_MAX_INTERVAL
    if not (raw.isascii() and raw.isdigit() and low <= int(raw) <= high):
        return _stream_error(
            400,
            "validation_error",
            "The request is not valid.",
            {"interval": [f"A whole number of seconds from {low} to {high}."]},
        )
    if not await _stream_open_allowed(request):
        return _stream_error(429, "rate_limited", "Too many streams opened; try again later.")
    slot_key = await _stream_slot_acquire(request)
    if slot_key is None:
        return _stream_error(
            429,
            "too_many_streams",
            "Too many open streams from your address; close one first.",
            {"max_streams": settings.METRICS_STREAM_MAX_PER_CLIENT},
        )
    response = StreamingHttpResponse(
        _metrics_events(int(raw), settings.METRICS_STREAM_MAX_SECONDS, slot_key),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


# ---------------------------------------------------------------- Prometheus


@require_GET
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``. Under gunicorn (``PROMETHEUS_MULTIPROC_DIR`` set) every worker writes its
    samples to that directory and one scrape sums them; the cluster-wide stored gauges are added
    in both modes."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(stored_gauges.COLLECTOR)
        registry.register(projections.LAG_COLLECTOR)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
