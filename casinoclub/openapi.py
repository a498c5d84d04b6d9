"""The OpenAPI schema documents the error envelope responses each operation really returns.

``ErrorEnvelopeAutoSchema`` (``DEFAULT_SCHEMA_CLASS``) adds, to every operation, the error
statuses that follow from how its view is built, each with the body of ``casinoclub.errors``.
A view declares any other status in its own ``@extend_schema(responses=...)``; an explicit
declaration is never replaced. Rules (``docs/decisions/0070-error-responses-in-the-schema.md``):

- 400 ``validation_error`` / ``malformed_request``: the operation takes a body or parameters;
- 401 ``not_authenticated`` / ``token_not_valid`` / ``authentication_failed``: it needs a login;
- 403 ``permission_denied`` and domain refusals: it needs a login and either writes or is
  staff-only;
- 404 ``not_found``: it has path parameters, or it needs a login and names an object in its
  body;
- 409 domain conflicts and ``idempotency_in_progress``: a logged-in write;
- 422 ``idempotency_mismatch``: it takes an ``Idempotency-Key``;
- 429 ``rate_limited``: the view is throttled;
- 503 ``service_unavailable``: every operation (a lost database connection); ``maintenance`` on
  the gold-moving ones while maintenance mode is on.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import permissions, serializers

from casinoclub.serializers import StrictSerializer

IDEMPOTENCY_HEADER = "Idempotency-Key"

ErrorEnvelopeSerializer = inline_serializer(
    name="ErrorEnvelope",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "details": serializers.JSONField(allow_null=True),
            },
        )
    },
)

ERROR_DESCRIPTIONS = {
    400: "The request is not valid (`validation_error`, `malformed_request`, a domain code).",
    401: "Not logged in, or the credentials or token are not valid.",
    403: "Not allowed: staff only, or refused by a rule (e.g. `play_blocked`).",
    404: "No such object, or not yours (the same answer either way), or no such page.",
    409: "Conflicts with the current state (e.g. `already_claimed`, `idempotency_in_progress`).",
    413: "The request body is too large (`payload_too_large`).",
    422: "This idempotency key was used for a different request (`idempotency_mismatch`).",
    429: "Too many requests (`rate_limited`, `login_locked`, `daily_limit_reached`, ...).",
    503: (
        "Briefly unavailable: retry after `Retry-After` seconds (`service_unavailable`, "
        "`payment_provider_unavailable`, `maintenance` on gold-moving routes while the casino "
        "is in maintenance)."
    ),
}


def error_responses(*status_codes: int) -> dict[int, OpenApiResponse]:
    """Error envelope responses a view declares beyond the rules, for ``@extend_schema``."""
    return {
        code: OpenApiResponse(ErrorEnvelopeSerializer, description=ERROR_DESCRIPTIONS[code])
        for code in status_codes
    }


class ErrorEnvelopeAutoSchema(AutoSchema):
    def _map_serializer(
        self, serializer: Any, direction: Any, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        """An input serializer's schema states what ``StrictSerializer`` enforces: no unknown
        field (``additionalProperties: false``), plus any rule a serializer declares in
        ``schema_extra`` (e.g. login's ``oneOf``)."""
        schema: dict[str, Any] = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(serializer, StrictSerializer):
            schema["additionalProperties"] = False
            schema.update(getattr(serializer, "schema_extra", {}))
        return schema

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for status_code in self.error_status_codes():
            code = str(status_code)
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    error_responses(status_code)[status_code], code, direction=direction
                )
        return responses

    def error_status_codes(self) -> list[int]:
        method = self.method.upper()
        writes = method not in permissions.SAFE_METHODS
        has_body = writes and self.get_request_serializer() is not None
        overrides = self.get_override_parameters()
        has_path_parameters = "{" in self.path
        takes_input = has_body or has_path_parameters or bool(overrides)
        permission_classes = [type(p) for p in self.view.get_permissions()]
        needs_login = bool(self.view.get_authenticators()) and (
            permissions.AllowAny not in permission_classes
        )
        is_staff_only = any(issubclass(p, permissions.IsAdminUser) for p in permission_classes)
        is_idempotent = any(
            isinstance(p, OpenApiParameter) and p.name == IDEMPOTENCY_HEADER for p in overrides
        )
        codes: list[int] = []
        if takes_input:
            codes.append(400)
        if needs_login:
            codes.append(401)
        if needs_login and (writes or is_staff_only):
            codes.append(403)
        if has_path_parameters or (has_body and needs_login):
            codes.append(404)
        if needs_login and writes:
            codes.append(409)
        if is_idempotent:
            codes.append(422)
        if self.view.get_throttles():
            codes.append(429)
        # A lost database connection answers 503 on any route (docs/decisions/0082).
        codes.append(503)
        return codes


# OpenAPI links: how a client (and schemathesis' stateful phase) chains the player's journey,
# signup → login → spin → history → verify and catalog → buy → transactions / settle.
# Keyed by (operationId, status) → {link name: link}.
_NO_MERGE = {"x-schemathesis": {"merge_body": False}}
OPERATION_LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("auth_signup", "201"): {
        "LogIn": {
            "operationId": "auth_login",
            "requestBody": {
                "site_id": "$request.body#/site_id",
                "password": "$request.body#/password",
            },
            "description": "Log in with the site_id and password just signed up with.",
            **_NO_MERGE,
        }
    },
    ("auth_login", "200"): {
        "Spin": {"operationId": "games_slot_spin", "description": "Play once logged in."},
    },
    ("games_slot_spin", "200"): {
        "History": {"operationId": "games_history", "description": "The round is listed."},
        "Verify": {
            "operationId": "games_round_verify",
            "parameters": {"path.round_id": "$response.body#/round/id"},
            "description": "Verify this round (after rotating the seed pair).",
        },
    },
    ("games_history", "200"): {
        "Verify": {
            "operationId": "games_round_verify",
            "parameters": {"path.round_id": "$response.body#/results/0/id"},
            "description": "Verify the newest round of the page.",
        }
    },
    ("shop_catalog", "200"): {
        "Buy": {
            "operationId": "shop_buy",
            "requestBody": {"product_code": "$response.body#/products/0/code"},
            "description": "Buy the first product of the catalog.",
            **_NO_MERGE,
        }
    },
    ("shop_buy", "200"): {
        "Transactions": {
            "operationId": "shop_transactions",
            "description": "The purchase is listed.",
        },
        "Settle": {
            "operationId": "shop_settle",
            "parameters": {"path.receipt": "$response.body#/purchase/receipt"},
            "description": "Ask for the purchase's final state.",
        },
    },
}


def add_operation_links(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add ``OPERATION_LINKS`` to their responses."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for (operation_id, status), links in OPERATION_LINKS.items():
                if operation.get("operationId") == operation_id:
                    operation["responses"][status]["links"] = links
    return result
