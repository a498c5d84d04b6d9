from rest_framework import serializers

from casinoclub.serializers import IdempotentInputSerializer, StrictIntegerField, StrictSerializer
from games.engine import CHOICES


class BetInputSerializer(IdempotentInputSerializer):
    bet = StrictIntegerField(min_value=1)


class RpsInputSerializer(BetInputSerializer):
    choice = serializers.ChoiceField(choices=list(CHOICES))


class GachaInputSerializer(IdempotentInputSerializer):
    count = serializers.ChoiceField(choices=[1, 10], default=1)


class CrashBetInputSerializer(BetInputSerializer):
    auto_cashout = serializers.DecimalField(
        max_digits=8, decimal_places=2, required=False, allow_null=True, coerce_to_string=False,
        help_text="Cash out automatically at this multiplier, e.g. 2.00.",
    )  # fmt: skip


class CrashCashoutInputSerializer(IdempotentInputSerializer):
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
    net = serializers.IntegerField(
        allow_null=True,
        help_text="What the round did to the player's gold: payout - bet (null while open).",
    )
    multiplier = serializers.FloatField()
    outcome = serializers.JSONField()
    params = serializers.JSONField()
    nonce = serializers.IntegerField()
    server_seed_hash = serializers.CharField()
    client_seed = serializers.CharField()
    config_version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    settled_at = serializers.DateTimeField(allow_null=True)


class GameLimitsSerializer(serializers.Serializer):
    game = serializers.CharField()
    daily_limit = serializers.IntegerField(
        allow_null=True, help_text="Rounds a day at the player's rank; null: no limit."
    )
    plays_today = serializers.IntegerField(help_text="Rounds played today (this one included).")
    plays_left = serializers.IntegerField(
        allow_null=True, help_text="Rounds left today; 0 at the limit, null without a limit."
    )
    resets_at = serializers.DateTimeField(help_text="When the count starts again (local midnight).")
    min_bet = serializers.IntegerField(help_text="Smallest bet (gacha: the price of one pull).")
    max_bet = serializers.IntegerField(help_text="Largest bet (gacha: the price of ten pulls).")


class PlayBlockSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["cool_off", "self_exclusion"])
    until = serializers.DateTimeField()


class PlayLimitsSerializer(serializers.Serializer):
    resets_at = serializers.DateTimeField()
    play_block = PlayBlockSerializer(
        allow_null=True, help_text="A running cool-off or self-exclusion: no play until `until`."
    )
    games = serializers.DictField(child=GameLimitsSerializer())


class PlayResultSerializer(serializers.Serializer):
    round = RoundSerializer()
    balance = serializers.IntegerField()
    limits = GameLimitsSerializer(help_text="The game's limits after this round.")


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
