from rest_framework import serializers


class GlobalMetricsSerializer(serializers.Serializer):
    online_users = serializers.IntegerField(help_text="Players with an open socket.")
    spins_last_hour = serializers.IntegerField(help_text="Slot spins in the last 60 minutes.")
    big_wins_last_hour = serializers.IntegerField(
        help_text="Rounds of any game paying at least BIG_WIN_MULTIPLIER_X100 / 100 times the bet."
    )
    generated_at = serializers.DateTimeField()
