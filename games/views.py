"""Thin HTTP adapters for games: parse, call one service or selector, shape the output."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_player
from accounts.selectors import inventory_list, wallet_balance
from accounts.services import RowInsert
from accounts.views import IDEMPOTENCY_KEY_HEADER
from casinoclub.idempotency import BALANCE_PENDING, idempotent_response_row, run_idempotent
from casinoclub.openapi import ErrorEnvelopeSerializer, error_responses
from casinoclub.pagination import PAGE_PARAMETERS, StrictPageNumberPagination
from casinoclub.throttling import ScopedRateThrottle
from games import selectors, serializers, services, verification
from games.models import Game, GameRound, LeaderboardPeriod


def _play_result(
    round_: GameRound, player: Any, *, balance: int | None = None
) -> tuple[int, dict[str, Any]]:
    """The round, the balance and the game's limits after it (plays left, reset, bet range)."""
    now = timezone.now()
    if round_.plays_today is not None:  # counted by this request: no query needed
        limits = selectors.play_limits_of(round_.config, player.rank, round_.plays_today, now)
    else:
        limits = selectors.play_limits_get(player, round_.game, now)
    if balance is None:
        balance = round_.balance_after  # known when the round settled in this request
    if balance is None:
        balance = wallet_balance(round_.user_id)
    return 200, {"round": services.round_public(round_), "balance": balance, "limits": limits}


def _stored_play_result(player: Any) -> services.ResponseRow:
    """The play's response stored by the round's own money statement (one round trip fewer)."""
    return lambda round_: RowInsert(
        *idempotent_response_row(*_play_result(round_, player, balance=BALANCE_PENDING))
    )


def _validated(serializer_class: type, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class SlotSpinView(APIView):
    @extend_schema(
        request=serializers.BetInputSerializer,
        responses={200: serializers.PlayResultSerializer, **error_responses(429)},
        parameters=[IDEMPOTENCY_KEY_HEADER],
        operation_id="games_slot_spin",
    )
    def post(self, request: Request) -> HttpResponse:
        data = _validated(serializers.BetInputSerializer, request)
        player = request_player(request)
        return run_idempotent(
            request,
            lambda key: _play_result(
                services.slot_spin(player, data["bet"], response_row=_stored_play_result(player)),
                player,
            ),
        )


class RpsPlayView(APIView):
    @extend_schema(
        request=serializers.RpsInputSerializer,
        responses={200: serializers.PlayResultSerializer, **error_responses(429)},
        parameters=[IDEMPOTENCY_KEY_HEADER],
        operation_id="games_rps_play",
    )
    def post(self, request: Request) -> HttpResponse:
        data = _validated(serializers.RpsInputSerializer, request)
        player = request_player(request)
        return run_idempotent(
            request,
            lambda key: _play_result(
                services.rps_play(
                    player,
                    data["bet"],
                    data["choice"],
                    response_row=_stored_play_result(player),
                ),
                player,
            ),
        )


class GachaPullView(APIView):
    @extend_schema(
        request=serializers.GachaInputSerializer,
        responses={200: serializers.PlayResultSerializer, **error_responses(429)},
        parameters=[IDEMPOTENCY_KEY_HEADER],
        operation_id="games_gacha_pull",
    )
    def post(self, request: Request) -> HttpResponse:
        data = _validated(serializers.GachaInputSerializer, request)
        return run_idempotent(
            request,
            lambda key: _play_result(
                services.gacha_pull(request_player(request), data["count"]),
                request_player(request),
            ),
        )


class GachaConfigView(APIView):
    @extend_schema(
        responses={200: serializers.GachaConfigSerializer}, operation_id="games_gacha_config"
    )
    def get(self, request: Request) -> Response:
        config = selectors.game_config_current(Game.GACHA)
        return Response(
            {
                "config_version": config.version,
                **selectors.engine_public(config.engine),
                "odds": selectors.odds_for(Game.GACHA),
            }
        )


class GachaInventoryView(APIView):
    @extend_schema(
        responses={200: serializers.InventorySerializer}, operation_id="games_gacha_inventory"
    )
    def get(self, request: Request) -> Response:
        return Response({"items": inventory_list(request_player(request).pk)})


class CrashBetView(APIView):
    @extend_schema(
        request=serializers.CrashBetInputSerializer,
        responses={200: serializers.PlayResultSerializer, **error_responses(429)},
        parameters=[IDEMPOTENCY_KEY_HEADER],
        operation_id="games_crash_bet",
    )
    def post(self, request: Request) -> HttpResponse:
        data = _validated(serializers.CrashBetInputSerializer, request)
        target: Decimal | None = data.get("auto_cashout")
        target_x100 = None if target is None else int(target * 100)
        return run_idempotent(
            request,
            lambda key: _play_result(
                services.crash_bet(request_player(request), data["bet"], target_x100),
                request_player(request),
            ),
        )


class CrashCashoutView(APIView):
    @extend_schema(
        request=serializers.CrashCashoutInputSerializer,
        responses={200: serializers.PlayResultSerializer},
        parameters=[IDEMPOTENCY_KEY_HEADER],
        operation_id="games_crash_cashout",
    )
    def post(self, request: Request) -> HttpResponse:
        data = _validated(serializers.CrashCashoutInputSerializer, request)
        # A cash-out only settles a stake placed before maintenance began, on a round that runs to
        # its bust during maintenance: refusing it would leave the player only the bust.
        return run_idempotent(
            request,
            lambda key: _play_result(
                services.crash_cashout(request_player(request), data["round_id"]),
                request_player(request),
            ),
            maintenance_exempt=True,
        )


class CrashStateView(APIView):
    """The live round (or the last one until the next opens), its bets and the last 20 busts."""

    @extend_schema(
        responses={200: serializers.CrashStateSerializer}, operation_id="games_crash_state"
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.crash_state_get())


class CrashRoundView(APIView):
    """A finished shared round: its hash, the link it hashes to, the salt and every bet."""

    @extend_schema(
        responses={200: serializers.CrashRoundDetailSerializer, **error_responses(404)},
        operation_id="games_crash_round",
    )
    def get(self, request: Request, crash_round_id: int) -> Response:
        detail = selectors.crash_round_detail_get(crash_round_id)
        if detail is None:
            raise NotFound("No such finished crash round.")
        return Response(detail)


class PlayLimitsView(APIView):
    @extend_schema(responses={200: serializers.PlayLimitsSerializer}, operation_id="games_limits")
    def get(self, request: Request) -> Response:
        return Response(selectors.play_limits_list(request_player(request)))


class OddsView(APIView):
    """Published odds: public, before login (the odds page and the verify page read them)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "public_odds"

    @extend_schema(responses={200: serializers.OddsSerializer}, operation_id="games_odds")
    def get(self, request: Request, game: str) -> Response:
        if game not in Game.values:
            raise NotFound("No such game.")
        return Response(selectors.odds_for(game))


class FairnessView(APIView):
    @extend_schema(responses={200: serializers.FairnessSerializer}, operation_id="games_fairness")
    def get(self, request: Request) -> Response:
        seed = services.fair_seed_ensure(request_player(request).pk)
        return Response(verification.seed_public(seed))


class FairnessRotateView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "fairness_rotate"

    @extend_schema(
        request=serializers.RotateInputSerializer,
        responses={
            200: serializers.RotateResultSerializer,
            409: OpenApiResponse(
                ErrorEnvelopeSerializer,
                description="A round drawn from the active seed is still open (`round_open`, "
                "`details.round_id`): cash out or let it end, then rotate.",
            ),
        },
        operation_id="games_fairness_rotate",
    )
    def post(self, request: Request) -> Response:
        data = _validated(serializers.RotateInputSerializer, request)
        previous, current = services.fair_seed_rotate(
            request_player(request).pk, data.get("client_seed")
        )
        return Response(
            {
                "previous": verification.seed_public(previous),
                "current": verification.seed_public(current),
            }
        )


class RoundVerifyView(APIView):
    @extend_schema(
        responses={200: serializers.RoundVerificationSerializer},
        operation_id="games_round_verify",
    )
    def get(self, request: Request, round_id: int) -> Response:
        round_ = selectors.round_get_for_user(request_player(request).pk, round_id)
        if round_ is None:
            raise NotFound("No such round.")
        return Response(verification.round_verify(round_))


class StatsMeView(APIView):
    @extend_schema(
        responses={200: serializers.StatsSerializer(many=True)}, operation_id="games_stats_me"
    )
    def get(self, request: Request) -> Response:
        rows = [
            {
                "game": stats.game,
                "plays": stats.plays,
                "wins": stats.wins,
                "losses": stats.losses,
                "ties": stats.ties,
                "total_bet": stats.total_bet,
                "total_won": stats.total_won,
                "net": stats.total_won - stats.total_bet,
                "max_win": stats.max_win,
                "highest_multiplier": stats.max_multiplier_x100 / 100,
                "current_win_streak": stats.current_win_streak,
                "best_win_streak": stats.best_win_streak,
            }
            for stats in selectors.stats_list(request_player(request).pk)
        ]
        return Response(rows)


class HistoryView(APIView):
    pagination_class = StrictPageNumberPagination  # also tells the schema the response is a page

    @extend_schema(
        parameters=[
            OpenApiParameter("game", OpenApiTypes.STR, enum=Game.values, required=False),
            *PAGE_PARAMETERS,
        ],
        # 404 "Invalid page." for a page before the first or after the last (DRF pagination)
        responses={200: serializers.RoundSerializer(many=True), **error_responses(404)},
        operation_id="games_history",
    )
    def get(self, request: Request) -> Response:
        game = request.query_params.get("game")
        if game is not None and game not in Game.values:
            raise ValidationError({"game": ["Unknown game."]})
        rounds = selectors.round_list(request_player(request).pk, game).select_related(
            "fair_seed", "config"
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rounds, request, view=self) or []
        return paginator.get_paginated_response([services.round_public(r) for r in page])


class LeaderboardView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "period", OpenApiTypes.STR, enum=LeaderboardPeriod.values, required=False
            ),
            OpenApiParameter(
                "by", OpenApiTypes.STR, enum=["net_win", "multiplier"], required=False
            ),
        ],
        responses={200: serializers.LeaderboardSerializer},
        operation_id="games_leaderboard",
    )
    def get(self, request: Request) -> Response:
        period = request.query_params.get("period", LeaderboardPeriod.DAILY)
        order = request.query_params.get("by", "net_win")
        if period not in LeaderboardPeriod.values or order not in ("net_win", "multiplier"):
            raise ValidationError(
                {"period": ["daily, weekly or all"], "by": ["net_win or multiplier"]}
            )
        today = timezone.localdate()
        return Response(
            {
                "period": period,
                "by": order,
                "period_start": selectors.period_start(period, today),
                "entries": selectors.leaderboard_list(period, order, today),
            }
        )
