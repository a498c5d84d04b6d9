"""Input validation and the documented shapes of the progression routes."""

from rest_framework import serializers

from casinoclub.serializers import StrictIntegerField, StrictSerializer
from gamification.models import Track


class ClaimInputSerializer(StrictSerializer):
    """A daily claim has no parameters: send `{}` or no body, and the Idempotency-Key header."""


class HistoryQuerySerializer(StrictSerializer):
    """Query of the streak history: the current month by default."""

    year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)
    month = serializers.IntegerField(min_value=1, max_value=12, required=False)


class BattlePassClaimInputSerializer(StrictSerializer):
    tier = StrictIntegerField(min_value=1)
    track = serializers.ChoiceField(choices=Track.choices)


# ---------------------------------------------------------------- responses (schema only)


class StreakStatusSerializer(serializers.Serializer):
    today = serializers.DateField()
    current_streak = serializers.IntegerField()
    best_streak = serializers.IntegerField()
    last_claim_date = serializers.DateField(allow_null=True)
    claimed_today = serializers.BooleanField()
    next_streak_day = serializers.IntegerField()
    next_reward_gold = serializers.IntegerField()
    next_claim_at = serializers.DateTimeField(allow_null=True)
    grace_days = serializers.IntegerField()


class StreakDayPreviewSerializer(serializers.Serializer):
    date = serializers.DateField()
    streak_day = serializers.IntegerField()
    reward_gold = serializers.IntegerField()
    claimable = serializers.BooleanField()
    claimed = serializers.BooleanField(required=False)
    claimable_from = serializers.DateTimeField(required=False)


class StreakPreviewSerializer(serializers.Serializer):
    today = StreakDayPreviewSerializer()
    tomorrow = StreakDayPreviewSerializer()
    cap_day = serializers.IntegerField()


class StreakClaimResultSerializer(serializers.Serializer):
    day = serializers.DateField()
    streak_day = serializers.IntegerField()
    reward_gold = serializers.IntegerField()
    xp = serializers.IntegerField()
    status = StreakStatusSerializer()
    balance = serializers.IntegerField()


class StreakHistoryClaimSerializer(serializers.Serializer):
    date = serializers.DateField()
    streak_day = serializers.IntegerField()
    reward_gold = serializers.IntegerField()


class StreakHistorySerializer(serializers.Serializer):
    year = serializers.IntegerField()
    month = serializers.IntegerField()
    claimed_days = serializers.ListField(child=serializers.IntegerField())
    claims = StreakHistoryClaimSerializer(many=True)


class VipStatusSerializer(serializers.Serializer):
    rank = serializers.CharField()
    rank_name = serializers.CharField(help_text="The rank in the player's language.")
    vip_points = serializers.IntegerField()
    next_rank = serializers.CharField(allow_null=True)
    next_rank_name = serializers.CharField(allow_null=True)
    points_to_next_rank = serializers.IntegerField(allow_null=True)
    thresholds = serializers.DictField(child=serializers.IntegerField())
    daily_points = serializers.IntegerField()
    daily_gold = serializers.IntegerField()
    claimed_today = serializers.BooleanField()
    next_claim_at = serializers.DateTimeField(allow_null=True)


class VipClaimResultSerializer(serializers.Serializer):
    day = serializers.DateField()
    points = serializers.IntegerField()
    reward_gold = serializers.IntegerField()
    xp = serializers.IntegerField()
    status = VipStatusSerializer()
    balance = serializers.IntegerField()


class AchievementSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    metric = serializers.CharField()
    threshold = serializers.IntegerField()
    reward_gold = serializers.IntegerField()
    reward_xp = serializers.IntegerField()


class AchievementProgressSerializer(AchievementSerializer):
    value = serializers.IntegerField()
    progress_percent = serializers.IntegerField()
    unlocked = serializers.BooleanField()
    unlocked_at = serializers.DateTimeField(allow_null=True)


class BattlePassTrackSerializer(serializers.Serializer):
    reward_gold = serializers.IntegerField()
    reward_item = serializers.CharField(allow_null=True)
    reward_item_name = serializers.CharField(
        allow_null=True, help_text="The item's name in the player's language."
    )
    claimed = serializers.BooleanField()
    claimable = serializers.BooleanField()


class BattlePassTierSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    xp_required = serializers.IntegerField()
    unlocked = serializers.BooleanField()
    free = BattlePassTrackSerializer()
    premium = BattlePassTrackSerializer()


class SeasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    premium_item_code = serializers.CharField()


class BattlePassSerializer(serializers.Serializer):
    season = SeasonSerializer(allow_null=True)
    xp = serializers.IntegerField()
    premium_unlocked = serializers.BooleanField()
    tiers = BattlePassTierSerializer(many=True)


class BattlePassClaimResultSerializer(serializers.Serializer):
    season = serializers.CharField()
    tier = serializers.IntegerField()
    track = serializers.CharField()
    reward_gold = serializers.IntegerField()
    reward_item = serializers.CharField(allow_null=True)
    balance = serializers.IntegerField()
