"""Thin HTTP adapters for the inbox: parse, call one service or selector, shape the output."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_player
from accounts.selectors import wallet_balance
from accounts.services import user_language_remember
from accounts.views import IDEMPOTENCY_KEY_HEADER
from casinoclub.i18n import active_language
from casinoclub.idempotency import run_idempotent
from casinoclub.openapi import error_responses
from casinoclub.pagination import PAGE_PARAMETERS, StrictPageNumberPagination
from liveops import selectors, serializers, services


def _validated(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class InboxPagination(StrictPageNumberPagination):
    """The project's page, plus the player's unread count (of the whole inbox)."""

    unread_count = 0

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data["unread_count"] = self.unread_count
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated: dict[str, Any] = super().get_paginated_response_schema(schema)
        paginated["properties"]["unread_count"] = {"type": "integer", "example": 3}
        paginated["required"] = [*paginated.get("required", []), "unread_count"]
        return paginated


class NotificationListView(APIView):
    pagination_class = InboxPagination  # also tells the schema the response is a page

    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={200: serializers.NotificationSerializer(many=True), **error_responses(404)},
        operation_id="notifications_list",
    )
    def get(self, request: Request) -> Response:
        user_id = request_player(request).pk
        user_language_remember(user_id, active_language())
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.notification_list(user_id), request, self)
        paginator.unread_count = selectors.notification_unread_count(user_id)
        return paginator.get_paginated_response(
            [selectors.notification_public(notification) for notification in page or []]
        )


class NotificationReadView(APIView):
    @extend_schema(
        request=None,
        responses={200: serializers.NotificationReadResultSerializer, **error_responses(404)},
        operation_id="notification_read",
    )
    def post(self, request: Request, notification_id: int) -> Response:
        user_id = request_player(request).pk
        notification = services.notification_read(user_id, notification_id)
        return Response(
            {
                "notification": selectors.notification_public(notification),
                "unread_count": selectors.notification_unread_count(user_id),
            }
        )


class NotificationsReadAllView(APIView):
    @extend_schema(
        request=None,
        responses={200: serializers.NotificationsReadAllResultSerializer},
        operation_id="notifications_read_all",
    )
    def post(self, request: Request) -> Response:
        user_id = request_player(request).pk
        marked = services.notifications_read_all(user_id)
        return Response(
            {"marked": marked, "unread_count": selectors.notification_unread_count(user_id)}
        )


class NotificationClaimView(APIView):
    @extend_schema(
        request=serializers.EmptyInputSerializer,
        responses={
            200: serializers.NotificationClaimResultSerializer,
            **error_responses(404, 409),
        },
        parameters=[IDEMPOTENCY_KEY_HEADER],
        operation_id="notification_claim",
    )
    def post(self, request: Request, notification_id: int) -> HttpResponse:
        _validated(serializers.EmptyInputSerializer, request.data)
        user_id = request_player(request).pk

        def claim(key: str) -> tuple[int, dict[str, Any]]:
            result = services.notification_claim(user_id, notification_id)
            notification = result.notification
            return 200, {
                "notification": selectors.notification_public(notification),
                "reward_gold": notification.reward_gold,
                "reward_item_code": notification.reward_item_code,
                "reward_item_quantity": notification.reward_item_quantity,
                "balance": result.balance
                if result.balance is not None
                else wallet_balance(user_id),
                "unread_count": selectors.notification_unread_count(user_id),
            }

        return run_idempotent(request, claim)


class NotificationPreferencesView(APIView):
    @extend_schema(
        responses={200: serializers.PreferencesSerializer},
        operation_id="notification_preferences",
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.notification_preferences_get(request_player(request).pk))

    @extend_schema(
        request=serializers.PreferencesInputSerializer,
        responses={200: serializers.PreferencesSerializer},
        operation_id="notification_preferences_update",
    )
    def patch(self, request: Request) -> Response:
        changes = _validated(serializers.PreferencesInputSerializer, request.data)
        return Response(
            services.notification_preferences_update(request_player(request).pk, changes)
        )
