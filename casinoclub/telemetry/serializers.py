from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from rest_framework import serializers

from casinoclub.serializers import StrictSerializer

EVENT_NAME_PATTERN = r"^[a-z0-9_.]{1,64}$"
# PostgreSQL's JSON cannot hold U+0000, and UTF-8 cannot hold an unpaired surrogate (JSON allows
# both as escapes): such characters in props are stored as U+FFFD rather than refused.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value: Any) -> Any:
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    return value


class TelemetryEventSerializer(StrictSerializer):
    name = serializers.RegexField(EVENT_NAME_PATTERN, max_length=64)
    ts = serializers.DateTimeField()
    props = serializers.DictField(
        required=False,
        default=dict,
        help_text="Any JSON object, at most 2048 bytes; NUL and lone surrogates become U+FFFD.",
    )

    def validate_props(self, value: dict[str, Any]) -> dict[str, Any]:
        value = _storable(value)
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
