from rest_framework import serializers

from casinoclub.serializers import StrictIntegerField, StrictSerializer
from games.engine import CHOICES


class BetInputSerializer(StrictSerializer):
    bet = StrictIntegerField(min_value=1)


class RpsInputSerializer(BetInputSerializer):
    choice = serializers.ChoiceField(choices=list(CHOICES))


class GachaInputSerializer(StrictSerializer):
    count = serializers.ChoiceField(choices=[1, 10], default=1)


class CrashBetInputSerializer(BetInputSerializer):
    auto_cashout = serializers.DecimalField(
        max_digits=8, decimal_places=2, required=False, allow_null=True, coerce_to_string=False,
        help_text="Cash out automatically at this multiplier, e.g. 2.00.",
    )  # fmt: skip


class CrashCashoutInputSerializer(StrictSerializer):
    round_id = StrictIntegerField(min_value=1)


class RotateInputSerializer(StrictSerializer):
    client_seed = serializers.CharField(
        max_length=64, required=False, help_text="Your new client seed (optional)."
    )


class RoundSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    game = serializers.CharField()
    state = serializers.CharField()
    bet = serializers.IntegerField()
    payout = serializers.IntegerField()
    multiplier = serializers.FloatField()
    outcome = serializers.JSONField()
    params = serializers.JSONField()
    nonce = serializers.IntegerField()
    server_seed_hash = serializers.CharField()
    client_seed = serializers.CharField()
    config_version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    settled_at = serializers.DateTimeField(allow_null=True)


class PlayResultSerializer(serializers.Serializer):
    round = RoundSerializer()
    balance = serializers.IntegerField()


class FairnessSerializer(serializers.Serializer):
    server_seed_hash = serializers.CharField()
    client_seed = serializers.CharField()
    nonce = serializers.IntegerField()


class RotateResultSerializer(serializers.Serializer):
    previous = serializers.DictField()
    current = FairnessSerializer()


class StatsSerializer(serializers.Serializer):
    game = serializers.CharField()
    plays = serializers.IntegerField()
    wins = serializers.IntegerField()
    losses = serializers.IntegerField()
    ties = serializers.IntegerField()
    total_bet = serializers.IntegerField()
    total_won = serializers.IntegerField()
    net = serializers.IntegerField()
    max_win = serializers.IntegerField()
    highest_multiplier = serializers.FloatField()
    current_win_streak = serializers.IntegerField()
    best_win_streak = serializers.IntegerField()
