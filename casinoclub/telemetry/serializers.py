from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import serializers

from casinoclub.serializers import StrictSerializer

EVENT_NAME_PATTERN = r"^[a-z0-9_.]{1,64}$"


class TelemetryEventSerializer(StrictSerializer):
    name = serializers.RegexField(EVENT_NAME_PATTERN, max_length=64)
    ts = serializers.DateTimeField()
    props = serializers.DictField(required=False, default=dict)

    def validate_props(self, value: dict[str, Any]) -> dict[str, Any]:
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        if size > settings.TELEMETRY_PROPS_MAX_BYTES:
            raise serializers.ValidationError(
                f"At most {settings.TELEMETRY_PROPS_MAX_BYTES} bytes of JSON."
            )
        return value


class TelemetryBatchSerializer(StrictSerializer):
    events = serializers.ListField(
        child=TelemetryEventSerializer(), min_length=1, max_length=50, allow_empty=False
    )


class TelemetryAcceptedSerializer(serializers.Serializer):
    received = serializers.IntegerField(help_text="Valid events in the batch.")
    stored = serializers.IntegerField(help_text="Events kept after sampling noisy names.")
