"""``POST /api/telemetry/events``: a thin adapter around ``services.telemetry_events_accept``."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_player
from casinoclub.openapi import error_responses
from casinoclub.throttling import ScopedRateThrottle

from . import serializers, services
from .exceptions import PayloadTooLarge


def _refuse_oversized(request: Request) -> None:
    """413 before parsing: by the declared length, then by the bytes actually read."""
    limit = settings.TELEMETRY_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise PayloadTooLarge()
    try:
        body = request.body  # read once; DRF parses from this stream afterwards
    except RequestDataTooBig as error:  # past DATA_UPLOAD_MAX_MEMORY_SIZE without a length
        raise PayloadTooLarge() from error
    if len(body) > limit:
        raise PayloadTooLarge()


class TelemetryEventsView(APIView):
    """Client events in batches of 1 to 50 (body at most 32 KB, else 413 payload_too_large).
    Noisy names are sampled by the server's receive time; kept events are stored in the
    background. Rate limited per user, and at most ``TELEMETRY_DAILY_BYTES_PER_USER`` bytes per
    player and day (UTC), else 429 telemetry_quota_exceeded."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "telemetry"

    @extend_schema(
        request=serializers.TelemetryBatchSerializer,
        responses={202: serializers.TelemetryAcceptedSerializer, **error_responses(413, 429)},
        operation_id="telemetry_events",
    )
    def post(self, request: Request) -> Response:
        received_at = timezone.now()
        _refuse_oversized(request)
        data = serializers.TelemetryBatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        events = data.validated_data["events"]
        stored = services.telemetry_events_accept(
            user_id=request_player(request).pk,
            events=events,
            body_bytes=len(request.body),
            received_at=received_at,
        )
        return Response(
            {"received": len(events), "stored": stored}, status=status.HTTP_202_ACCEPTED
        )
