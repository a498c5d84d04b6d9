"""Thin HTTP adapters for the shop."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_player
from accounts.selectors import wallet_balance
from accounts.views import IDEMPOTENCY_KEY_HEADER
from casinoclub.idempotency import run_idempotent
from casinoclub.openapi import error_responses
from casinoclub.throttling import ScopedRateThrottle
from shop import economy, selectors, serializers, services
from shop.models import Purchase


class PurchaseThrottled(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "purchase"


def _buy_result(purchase: Purchase) -> tuple[int, dict[str, Any]]:
    return 200, {
        "purchase": selectors.purchase_public(purchase),
        "balance": wallet_balance(purchase.user_id),
    }


class CatalogView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="shop_catalog")
    def get(self, request: Request) -> Response:
        player = request_player(request)
        return Response({"products": selectors.catalog_list(player, timezone.now())})


class BuyView(PurchaseThrottled):
    @extend_schema(
        request=serializers.BuyInputSerializer,
        responses={200: serializers.BuyResultSerializer},
        parameters=[IDEMPOTENCY_KEY_HEADER],
        operation_id="shop_buy",
    )
    def post(self, request: Request) -> HttpResponse:
        data = serializers.BuyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        player = request_player(request)
        code = data.validated_data["product_code"]
        return run_idempotent(request, lambda key: _buy_result(services.shop_buy(player, code)))


class LimitedPackagesView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="shop_limited_packages")
    def get(self, request: Request) -> Response:
        player = request_player(request)
        return Response({"packages": selectors.limited_packages_list(player, timezone.now())})


class BuyLimitedView(PurchaseThrottled):
    @extend_schema(
        request=serializers.BuyLimitedInputSerializer,
        responses={200: serializers.BuyResultSerializer},
        parameters=[IDEMPOTENCY_KEY_HEADER],
        operation_id="shop_buy_limited",
    )
    def post(self, request: Request) -> HttpResponse:
        data = serializers.BuyLimitedInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        player = request_player(request)
        package, promo = data.validated_data["package_code"], data.validated_data.get("promo_code")
        return run_idempotent(
            request, lambda key: _buy_result(services.shop_buy_limited(player, package, promo))
        )


class TransactionsPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class TransactionsView(APIView):
    pagination_class = TransactionsPagination  # also tells the schema the response is a page

    @extend_schema(
        parameters=[OpenApiParameter("page", OpenApiTypes.INT, required=False)],
        # 404 "Invalid page." for a page before the first or after the last (DRF pagination)
        responses={200: serializers.PurchaseSerializer(many=True), **error_responses(404)},
        operation_id="shop_transactions",
    )
    def get(self, request: Request) -> Response:
        purchases = selectors.purchases_list(request_player(request).pk).select_related(
            "product", "package"
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(purchases, request, view=self) or []
        return paginator.get_paginated_response([selectors.purchase_public(p) for p in page])


class SettleView(PurchaseThrottled):
    @extend_schema(
        request=None, responses={200: serializers.BuyResultSerializer}, operation_id="shop_settle"
    )
    def post(self, request: Request, receipt: str) -> Response:
        purchase = selectors.purchase_get_for_user(request_player(request).pk, receipt)
        if purchase is None:
            raise NotFound("No such purchase.")
        return Response(_buy_result(services.purchase_settle(purchase))[1])


class AdminStatsView(APIView):
    """Staff only: live figures for the operations screen, cached 5 s."""

    permission_classes = [IsAdminUser]

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="admin_stats")
    def get(self, request: Request) -> Response:
        return Response(economy.admin_stats())


class WebhookView(APIView):
    """Payment-provider callbacks: authenticated by signature, not by a user token."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "webhook"

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: serializers.WebhookResultSerializer, **error_responses(401, 409)},
        parameters=[
            OpenApiParameter("X-Webhook-Timestamp", OpenApiTypes.STR, OpenApiParameter.HEADER),
            OpenApiParameter("X-Webhook-Nonce", OpenApiTypes.STR, OpenApiParameter.HEADER),
            OpenApiParameter("X-Webhook-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER),
        ],
        operation_id="shop_webhook_payment",
    )
    def post(self, request: Request) -> Response:
        nonce = request.headers.get("X-Webhook-Nonce", "")
        payload = services.webhook_verify(
            timestamp=request.headers.get("X-Webhook-Timestamp", ""),
            nonce=nonce,
            signature=request.headers.get("X-Webhook-Signature", ""),
            body=request.body,
        )
        return Response({"status": services.webhook_handle(nonce=nonce, payload=payload)})
