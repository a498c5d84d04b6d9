"""The one error envelope: ``{"error": {"code", "message", "details"}}``.

Domain code raises ``ApplicationError`` subclasses (each with a stable ``code`` and HTTP status);
DRF's own exceptions are mapped to stable codes here; anything unexpected is logged with context and
answered with ``internal_error`` and no stack trace. A broken database connection is 503
``service_unavailable`` with ``Retry-After`` (docs/decisions/0082-database-connection-loss.md).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import InvalidToken

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A failure the caller can act on. Subclasses set ``code``, ``status_code`` and ``message``."""

    code: str = "application_error"
    status_code: int = status.HTTP_400_BAD_REQUEST
    message: str = "The request could not be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Any = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.message
        self.details = details
        self.extra = extra or {}  # top-level keys kept for old clients, e.g. retry_after_minutes
        super().__init__(self.message)

    def response_headers(self) -> dict[str, str]:
        """Headers the error response carries (e.g. ``Retry-After``); none by default."""
        return {}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: "malformed_request",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "validation_error",
    InvalidToken: "token_not_valid",
}


def _drf_code(exc: exceptions.APIException) -> str:
    for klass in type(exc).__mro__:
        if klass in _DRF_CODES:
            return _DRF_CODES[klass]
    return "error"


def _drf_message(exc: exceptions.APIException) -> str:
    # simplejwt's InvalidToken carries {"detail": ..., "code": ..., "messages": [...]}: keep the
    # sentence, not the repr of the dict.
    if isinstance(exc.detail, dict) and "detail" in exc.detail:
        return str(exc.detail["detail"])
    return str(exc.detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, ApplicationError):
        body = error_body(exc.code, exc.message, exc.details)
        body.update(exc.extra)
        return Response(body, status=exc.status_code, headers=exc.response_headers())
    # Django raises these while reading the body (DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields):
    # the caller's fault, so 400 like Django's own handler400, never 500.
    if isinstance(exc, SuspiciousOperation):
        logger.warning("refused request: %s", exc)
        if isinstance(exc, RequestDataTooBig):
            body = error_body("request_too_large", "The request body is too large.")
        else:
            body = error_body("bad_request", "The request could not be understood.")
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        code = _drf_code(exc)
        details: Any = None
        message = _drf_message(exc)
        if isinstance(exc, exceptions.ValidationError):
            message, details = "The request is not valid.", exc.detail
        wait = getattr(exc, "wait", None)  # set on Throttled
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            headers["Retry-After"] = str(int(wait))
            details = {"retry_after_seconds": int(wait)}
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        return Response(error_body(code, message, details), status=exc.status_code, headers=headers)
    view = context.get("view")
    request = context.get("request")
    if isinstance(exc, OperationalError | InterfaceError):
        # The database connection broke (restart, failover, a terminated backend): the
        # transaction rolled back, so the caller may retry; Django reconnects on the next request.
        logger.warning(
            "database unavailable in %s %s: %r",
            type(view).__name__ if view else "?",
            getattr(request, "path", "?"),
            exc,
        )
        return Response(
            error_body("service_unavailable", "The service is briefly unavailable; try again."),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )
    logger.exception(
        "unhandled error in %s %s",
        type(view).__name__ if view else "?",
        getattr(request, "path", "?"),
    )
    return Response(
        error_body("internal_error", "Something went wrong on our side."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


# Django-level handlers (URLs outside DRF views, request-size errors): the same envelope.
def _json_error(status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code)


def bad_request(request: HttpRequest, exception: Exception) -> JsonResponse:
    if isinstance(exception, RequestDataTooBig):
        return _json_error(400, "request_too_large", "The request body is too large.")
    return _json_error(400, "bad_request", "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception) -> JsonResponse:
    return _json_error(403, "permission_denied", "You do not have permission to do this.")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404: the envelope under ``/api/``, a page for people everywhere else."""
    if _is_api(request):
        return _json_error(404, "not_found", "Not found.")
    return render(request, "pages/not_found.html", {"page": "plain"}, status=404)


@csrf_exempt  # changes nothing: a POST to an unknown path is 404, never the CSRF page
def api_not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Any ``/api/`` path no route matches: the envelope in every settings module (with DEBUG
    Django would answer its HTML debug page). Keeps ``APPEND_SLASH``: a path that exists with a
    trailing slash is redirected to it, as ``CommonMiddleware`` would."""
    if settings.APPEND_SLASH and not request.path.endswith("/"):
        try:
            match = resolve(f"{request.path}/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return _json_error(404, "not_found", "Not found.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: the envelope under ``/api/``, Django's page for forms."""
    if _is_api(request):
        return _json_error(403, "csrf_failed", "CSRF check failed; send the X-CSRFToken header.")
    return django_csrf_failure(request, reason)


def server_error(request: HttpRequest) -> JsonResponse:
    return _json_error(500, "internal_error", "Something went wrong on our side.")
