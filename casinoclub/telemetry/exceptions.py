from rest_framework import status

from casinoclub.errors import ApplicationError


class PayloadTooLarge(ApplicationError):
    code = "payload_too_large"
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    message = "A telemetry batch may be at most 32 KB."
