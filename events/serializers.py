from rest_framework import serializers

from casinoclub.serializers import StrictIntegerField, StrictSerializer
from events.models import EventStatus, MissionPeriod, RequirementType


class JoinInputSerializer(StrictSerializer):
    event_id = StrictIntegerField(min_value=1)


class EventsClaimInputSerializer(StrictSerializer):
    """A claim has no parameters: send `{}` or no body, and the Idempotency-Key header."""


class RequirementSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=RequirementType.choices)
    game = serializers.CharField(allow_null=True)
    target = serializers.IntegerField()


class RewardSerializer(serializers.Serializer):
    gold = serializers.IntegerField()
    xp = serializers.IntegerField()


class PublicEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=EventStatus.choices)
    requirement = RequirementSerializer()
    reward = RewardSerializer()


class PublicEventsSerializer(serializers.Serializer):
    events = PublicEventSerializer(many=True)


class ParticipationSerializer(serializers.Serializer):
    joined_at = serializers.DateTimeField()
    progress = serializers.IntegerField()
    progress_version = serializers.IntegerField()
    completed = serializers.BooleanField()
    completed_at = serializers.DateTimeField(allow_null=True)
    claimed = serializers.BooleanField()
    claimed_at = serializers.DateTimeField(allow_null=True)
    claimable = serializers.BooleanField()


class EventSerializer(PublicEventSerializer):
    can_join = serializers.BooleanField()
    participation = ParticipationSerializer(allow_null=True)


class EventsSerializer(serializers.Serializer):
    events = EventSerializer(many=True)


class EventResultSerializer(serializers.Serializer):
    event = EventSerializer()


class MissionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    period = serializers.ChoiceField(choices=MissionPeriod.choices)
    period_start = serializers.DateField()
    resets_at = serializers.DateTimeField()
    requirement = RequirementSerializer()
    reward = RewardSerializer()
    progress = serializers.IntegerField()
    progress_version = serializers.IntegerField()
    completed = serializers.BooleanField()
    claimed = serializers.BooleanField()
    claimable = serializers.BooleanField()


class MissionsSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=["daily", "weekly", "all"])
    missions = MissionSerializer(many=True)


class EventClaimResultSerializer(serializers.Serializer):
    event = EventSerializer()
    reward = RewardSerializer()
    balance = serializers.IntegerField()


class MissionClaimResultSerializer(serializers.Serializer):
    mission = MissionSerializer()
    reward = RewardSerializer()
    balance = serializers.IntegerField()
