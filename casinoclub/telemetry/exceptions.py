from rest_framework import status

from casinoclub.errors import ApplicationError


class PayloadTooLarge(ApplicationError):
    code = "payload_too_large"
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    message = "A telemetry batch may be at most 32 KB."


class TelemetryQuotaExceeded(ApplicationError):
    code = "telemetry_quota_exceeded"
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    message = "This account has sent its telemetry allowance for today."
