"""Thin HTTP adapters for progression: parse, call one service or selector, shape the output."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_player
from accounts.selectors import wallet_balance
from accounts.views import IDEMPOTENCY_KEY_HEADER
from casinoclub.idempotency import run_idempotent
from gamification import rules, selectors, serializers, services


def _validated(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class StreakStatusView(APIView):
    @extend_schema(
        responses={200: serializers.StreakStatusSerializer}, operation_id="streak_status"
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.streak_status(request_player(request).pk))


class StreakPreviewView(APIView):
    @extend_schema(
        responses={200: serializers.StreakPreviewSerializer}, operation_id="streak_preview"
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.streak_preview(request_player(request).pk))


class StreakClaimView(APIView):
    @extend_schema(
        request=serializers.ClaimInputSerializer,
        responses={200: serializers.StreakClaimResultSerializer},
        parameters=[IDEMPOTENCY_KEY_HEADER],
        operation_id="streak_claim",
    )
    def post(self, request: Request) -> HttpResponse:
        _validated(serializers.ClaimInputSerializer, request.data)
        user_id = request_player(request).pk

        def claim(key: str) -> tuple[int, dict[str, Any]]:
            result = services.streak_claim(user_id)
            return 200, {
                "day": result.day,
                "streak_day": result.streak_day,
                "reward_gold": result.reward_gold,
                "xp": rules.STREAK_CLAIM_XP,
                "status": result.status or selectors.streak_status(user_id, result.day),
                "balance": (
                    result.balance_after
                    if result.balance_after is not None
                    else wallet_balance(user_id)
                ),
            }

        return run_idempotent(request, claim)


class StreakHistoryView(APIView):
    @extend_schema(
        parameters=[serializers.HistoryQuerySerializer],
        responses={200: serializers.StreakHistorySerializer},
        operation_id="streak_history",
    )
    def get(self, request: Request) -> Response:
        query = _validated(serializers.HistoryQuerySerializer, request.query_params)
        today = timezone.localdate()
        year, month = query.get("year", today.year), query.get("month", today.month)
        return Response(selectors.streak_history(request_player(request).pk, year, month))


class VipStatusView(APIView):
    @extend_schema(responses={200: serializers.VipStatusSerializer}, operation_id="vip_status")
    def get(self, request: Request) -> Response:
        return Response(selectors.vip_status(request_player(request).pk))


class VipClaimView(APIView):
    @extend_schema(
        request=serializers.ClaimInputSerializer,
        responses={200: serializers.VipClaimResultSerializer},
        parameters=[IDEMPOTENCY_KEY_HEADER],
        operation_id="vip_claim",
    )
    def post(self, request: Request) -> HttpResponse:
        _validated(serializers.ClaimInputSerializer, request.data)
        user_id = request_player(request).pk

        def claim(key: str) -> tuple[int, dict[str, Any]]:
            result = services.vip_claim(user_id)
            balance = result.balance_after  # known when the claim credited gold
            return 200, {
                "day": result.day,
                "points": result.points,
                "reward_gold": result.reward_gold,
                "xp": rules.VIP_CLAIM_XP,
                "status": result.status,
                "balance": wallet_balance(user_id) if balance is None else balance,
            }

        return run_idempotent(request, claim)


class AchievementListView(APIView):
    @extend_schema(
        responses={200: serializers.AchievementSerializer(many=True)},
        operation_id="achievements_list",
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.achievements_list())


class AchievementMeView(APIView):
    @extend_schema(
        responses={200: serializers.AchievementProgressSerializer(many=True)},
        operation_id="achievements_me",
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.achievements_for_player(request_player(request).pk))


class BattlePassView(APIView):
    @extend_schema(responses={200: serializers.BattlePassSerializer}, operation_id="battle_pass")
    def get(self, request: Request) -> Response:
        return Response(selectors.battle_pass_get(request_player(request).pk))


class BattlePassClaimView(APIView):
    @extend_schema(
        request=serializers.BattlePassClaimInputSerializer,
        responses={200: serializers.BattlePassClaimResultSerializer},
        parameters=[IDEMPOTENCY_KEY_HEADER],
        operation_id="battle_pass_claim",
    )
    def post(self, request: Request) -> HttpResponse:
        data = _validated(serializers.BattlePassClaimInputSerializer, request.data)
        user_id = request_player(request).pk

        def claim(key: str) -> tuple[int, dict[str, Any]]:
            result = services.battle_pass_claim(user_id, data["tier"], data["track"])
            return 200, {
                "season": result.tier.season.code,
                "tier": result.tier.number,
                "track": result.track,
                "reward_gold": result.reward_gold,
                "reward_item": result.reward_item or None,
                "balance": wallet_balance(user_id),
            }

        return run_idempotent(request, claim)
