"""Thin HTTP adapters for the shop."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_player
from accounts.permissions import StaffSecondFactorVerified
from accounts.selectors import wallet_balance
from accounts.views import IDEMPOTENCY_KEY_HEADER
from casinoclub.idempotency import run_idempotent_in_steps
from casinoclub.openapi import error_responses
from casinoclub.pagination import PAGE_PARAMETERS, StrictPageNumberPagination
from casinoclub.permissions import staff_permission
from casinoclub.throttling import ScopedRateThrottle
from shop import economy, gateway, selectors, serializers, services
from shop.models import Purchase


class PurchaseThrottled(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "purchase"


def _buy_result(purchase: Purchase, checkout_url: str = "") -> tuple[int, dict[str, Any]]:
    return 200, {
        "purchase": selectors.purchase_public(purchase),
        "balance": (
            purchase.balance_after
            if purchase.balance_after is not None
            else wallet_balance(purchase.user_id)
        ),
        "checkout_url": checkout_url or None,
    }


def _charged(reserved: Purchase) -> tuple[int, dict[str, Any]]:
    outcome = services.purchase_charge(reserved.pk, reserved=reserved)
    return _buy_result(outcome.purchase, outcome.checkout_url)


class CatalogView(APIView):
    @extend_schema(responses={200: serializers.CatalogSerializer}, operation_id="shop_catalog")
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
        return run_idempotent_in_steps(
            request,
            lambda key: services.shop_buy_reserve(player, code, idempotency_key=key),
            _charged,
        )


class LimitedPackagesView(APIView):
    @extend_schema(
        responses={200: serializers.LimitedPackagesSerializer},
        operation_id="shop_limited_packages",
    )
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
        return run_idempotent_in_steps(
            request,
            lambda key: services.shop_buy_limited_reserve(
                player, package, promo, idempotency_key=key
            ),
            _charged,
        )


class TransactionsView(APIView):
    pagination_class = StrictPageNumberPagination  # also tells the schema the response is a page

    @extend_schema(
        parameters=PAGE_PARAMETERS,
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
    """Staff who may see the economy figures: live figures for the operations screen, cached 5 s."""

    permission_classes = [staff_permission("accounts.see_economy"), StaffSecondFactorVerified]

    @extend_schema(responses={200: serializers.AdminStatsSerializer}, operation_id="admin_stats")
    def get(self, request: Request) -> Response:
        return Response(economy.admin_stats())


class PaymentWebhookView(APIView):
    """A payment provider's callbacks: authenticated by the provider's signature, not by a user.

    The provider's adapter verifies and normalises the event (``webhook_parse``); the purchase
    flow sees only the normalised event.
    """

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "webhook"
    provider = ""

    def post(self, request: Request) -> Response:
        adapter = gateway.webhook_gateway(self.provider)
        event = adapter.webhook_parse(body=request.body, headers=request.headers)
        return Response({"status": services.payment_event_apply(event)})


class WebhookView(PaymentWebhookView):
    """The simulated gateway's events (development and tests only)."""

    provider = "simulated"

    @extend_schema(
        request=serializers.SimulatedPaymentEventSerializer,
        responses={200: serializers.WebhookResultSerializer, **error_responses(401, 404, 409)},
        parameters=[
            OpenApiParameter("X-Webhook-Timestamp", OpenApiTypes.STR, OpenApiParameter.HEADER),
            OpenApiParameter("X-Webhook-Nonce", OpenApiTypes.STR, OpenApiParameter.HEADER),
            OpenApiParameter("X-Webhook-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER),
        ],
        operation_id="shop_webhook_payment",
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class StripeWebhookView(PaymentWebhookView):
    """Stripe's events, verified against STRIPE_WEBHOOK_SECRET (the Stripe-Signature header)."""

    provider = "stripe"

    @extend_schema(
        request=serializers.StripeEventSerializer,
        responses={200: serializers.WebhookResultSerializer, **error_responses(400, 401)},
        parameters=[
            OpenApiParameter("Stripe-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER)
        ],
        operation_id="shop_webhook_stripe",
    )
    def post(self, request: Request) -> Response:
        return super().post(request)
