"""Thin HTTP adapters for events and missions: parse, call one service or selector, shape."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_player
from accounts.selectors import wallet_balance
from accounts.views import IDEMPOTENCY_KEY_HEADER
from casinoclub.idempotency import run_idempotent
from casinoclub.throttling import ScopedRateThrottle
from events import selectors, serializers, services
from events.metrics import event_mission_requests_total
from events.models import EventParticipation, MissionPeriod, MissionProgress

MISSION_PERIODS = {"daily": MissionPeriod.DAILY, "weekly": MissionPeriod.WEEKLY, "all": None}


def _result(response: HttpResponseBase) -> str:
    """The metric's result label: ok / replayed / not_modified, or the error's stable code."""
    if response.status_code == 304:
        return "not_modified"
    if response.status_code < 400:
        return "replayed" if response.get("Idempotent-Replayed") == "true" else "ok"
    data = getattr(response, "data", None)
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return str(data["error"].get("code", "error"))
    return "error"


# Every response of these routes is counted in event_mission_requests_total{route, result}.
class CountedView(APIView):
    metric_route: ClassVar[str]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = super().dispatch(request, *args, **kwargs)  # errors are responses by now
        event_mission_requests_total.labels(route=self.metric_route, result=_result(response)).inc()
        return response


def _validated(serializer_class: type, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _event_result(participation: EventParticipation) -> dict[str, Any]:
    return {"event": selectors.event_for_player(participation.event, participation, timezone.now())}


def _event_claim_result(participation: EventParticipation) -> tuple[int, dict[str, Any]]:
    event = participation.event
    return 200, {
        **_event_result(participation),
        "reward": {"gold": event.reward_gold, "xp": event.reward_xp},
        "balance": wallet_balance(participation.user_id),
    }


def _mission_claim_result(row: MissionProgress) -> tuple[int, dict[str, Any]]:
    mission = row.mission
    return 200, {
        "mission": selectors.mission_for_player(mission, row, row.period_start),
        "reward": {"gold": mission.reward_gold, "xp": mission.reward_xp},
        "balance": wallet_balance(row.user_id),
    }


class EventListView(CountedView):
    """Active and upcoming events (and ended ones you can still claim) with your progress."""

    metric_route = "events_list"

    @extend_schema(responses={200: serializers.EventsSerializer}, operation_id="events_list")
    def get(self, request: Request) -> Response:
        player = request_player(request)
        return Response({"events": selectors.event_list(player.pk, timezone.now())})


class EventDetailView(CountedView):
    """One event with your participation."""

    metric_route = "events_detail"

    @extend_schema(responses={200: serializers.EventSerializer}, operation_id="events_detail")
    def get(self, request: Request, event_id: int) -> Response:
        player = request_player(request)
        return Response(selectors.event_get(player.pk, event_id, timezone.now()))


class EventJoinView(CountedView):
    """Join an event inside its window (403 `event_not_open` otherwise); joining twice is fine."""

    metric_route = "events_join"

    @extend_schema(
        request=serializers.JoinInputSerializer,
        responses={200: serializers.EventResultSerializer},
        parameters=[IDEMPOTENCY_KEY_HEADER],
        operation_id="events_join",
    )
    def post(self, request: Request) -> HttpResponse:
        data = _validated(serializers.JoinInputSerializer, request)
        player = request_player(request)
        return run_idempotent(
            request,
            lambda key: (200, _event_result(services.event_join(player, data["event_id"]))),
        )


class EventClaimView(CountedView):
    """Claim a completed event's gold and XP, once (409 `not_completed` / `already_claimed`)."""

    metric_route = "events_claim"

    @extend_schema(
        request=serializers.EventsClaimInputSerializer,
        responses={200: serializers.EventClaimResultSerializer},
        parameters=[IDEMPOTENCY_KEY_HEADER],
        operation_id="events_claim",
    )
    def post(self, request: Request, event_id: int) -> HttpResponse:
        _validated(serializers.EventsClaimInputSerializer, request)
        player = request_player(request)
        return run_idempotent(
            request, lambda key: _event_claim_result(services.event_claim(player, event_id))
        )


class MissionListView(CountedView):
    """Missions of the current day and/or week with your progress; progress comes from play."""

    metric_route = "missions_list"

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "period", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(MISSION_PERIODS)
            )
        ],
        responses={200: serializers.MissionsSerializer},
        operation_id="events_missions_list",
    )
    def get(self, request: Request, period: str) -> Response:
        if period not in MISSION_PERIODS:
            raise NotFound("No such mission period: use daily, weekly or all.")
        player = request_player(request)
        missions = selectors.mission_list(player.pk, MISSION_PERIODS[period], timezone.localdate())
        return Response({"period": period, "missions": missions})


class MissionClaimView(CountedView):
    """Claim a mission completed in its current period, once; pays gold and XP."""

    metric_route = "missions_claim"

    @extend_schema(
        request=serializers.EventsClaimInputSerializer,
        responses={200: serializers.MissionClaimResultSerializer},
        parameters=[IDEMPOTENCY_KEY_HEADER],
        operation_id="events_missions_claim",
    )
    def post(self, request: Request, mission_id: int) -> HttpResponse:
        _validated(serializers.EventsClaimInputSerializer, request)
        player = request_player(request)
        return run_idempotent(
            request, lambda key: _mission_claim_result(services.mission_claim(player, mission_id))
        )


class PublicEventListView(CountedView):
    """Public running events: no login, no player data, cached 10 s, ETag / If-None-Match."""

    metric_route = "public_events"
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "public_events"

    @extend_schema(
        parameters=[OpenApiParameter("If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER)],
        responses={
            200: serializers.PublicEventsSerializer,
            304: OpenApiResponse(description="Not modified: the If-None-Match ETag is current."),
        },
        operation_id="public_events_list",
    )
    def get(self, request: Request) -> HttpResponseBase:
        payload, etag = selectors.public_events_snapshot()
        response: HttpResponseBase = Response(payload)
        not_modified = get_conditional_response(request._request, etag=etag)
        if not_modified is not None:
            response = not_modified
        response["ETag"] = etag
        patch_cache_control(response, public=True, max_age=settings.PUBLIC_EVENTS_CACHE_SECONDS)
        # Titles follow the language cookie, else Accept-Language (one cached copy per language).
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        return response
