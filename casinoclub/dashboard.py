"""``GET /api/dashboard``: one snapshot for the home screen, composed from each app's selectors.

The project layer is the one place that may read every app: it composes, it never writes. The
query count is bounded (a test pins it) whatever the player's history.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_player
from accounts.serializers import ProfileSerializer
from events.selectors import event_list, mission_list
from events.serializers import EventSerializer, MissionSerializer
from games.selectors import play_limits_list, round_list
from games.serializers import PlayLimitsSerializer, RoundSerializer
from games.services import round_public
from gamification.selectors import streak_status, vip_status
from gamification.serializers import StreakStatusSerializer, VipStatusSerializer

RECENT_ROUNDS = 5


class ClaimableSerializer(serializers.Serializer):
    streak = serializers.BooleanField()
    vip = serializers.BooleanField()
    events = serializers.ListField(child=serializers.IntegerField(), help_text="Event ids.")
    missions = serializers.ListField(child=serializers.IntegerField(), help_text="Mission ids.")


class DashboardSerializer(serializers.Serializer):
    profile = ProfileSerializer()
    streak = StreakStatusSerializer()
    vip = VipStatusSerializer()
    claimable = ClaimableSerializer()
    events = EventSerializer(many=True)
    missions = MissionSerializer(many=True)
    recent_rounds = RoundSerializer(many=True)
    generated_at = serializers.DateTimeField()
    limits = PlayLimitsSerializer(
        help_text="The same object as GET /api/games/limits: plays left today per game, when "
        "they reset, the bet range, a running cool-off or exclusion."
    )
    first_visit = serializers.BooleanField(help_text="No round played yet.")


def dashboard_snapshot(user: Any) -> dict[str, Any]:
    now = timezone.now()
    today = timezone.localdate(now)
    streak = streak_status(user.pk, today)
    vip = vip_status(user.pk, today)
    events = [event for event in event_list(user.pk, now) if event.get("status") != "upcoming"]
    missions = mission_list(user.pk, None, today)
    rounds = list(round_list(user.pk).select_related("fair_seed", "config")[:RECENT_ROUNDS])
    claimable = {
        "streak": not streak["claimed_today"],
        "vip": not vip["claimed_today"],
        "events": [e["id"] for e in events if (e["participation"] or {}).get("claimable")],
        "missions": [m["id"] for m in missions if m.get("claimable")],
    }
    return {
        "profile": ProfileSerializer(user).data,
        "streak": streak,
        "vip": vip,
        "claimable": claimable,
        "events": events,
        "missions": missions,
        "recent_rounds": [round_public(round_) for round_ in rounds],
        # plays left today per game, when they reset, and a running cool-off or exclusion
        "limits": play_limits_list(user, now),
        # No round played yet: the home page greets a newcomer and shows where to start.
        "first_visit": not rounds,
        "generated_at": now,
    }


class DashboardView(APIView):
    @extend_schema(responses={200: DashboardSerializer}, operation_id="dashboard")
    def get(self, request: Request) -> Response:
        return Response(dashboard_snapshot(request_player(request)))
