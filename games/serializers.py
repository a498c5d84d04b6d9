from rest_framework import serializers

from accounts.models import BlockKind
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
    round_id = StrictIntegerField(min_value=1, help_text="The bet's id (``round.id`` of the bet).")


class CrashBetPublicSerializer(serializers.Serializer):
    nickname = serializers.CharField()
    amount = serializers.IntegerField()
    auto_cashout = serializers.FloatField(allow_null=True)
    cashout = serializers.FloatField(allow_null=True, help_text="The multiplier cashed out at.")
    win = serializers.IntegerField()
    state = serializers.CharField()


class CrashRoundPublicSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    phase = serializers.ChoiceField(choices=["betting", "running", "busted", "voided"])
    chain_id = serializers.IntegerField()
    position = serializers.IntegerField(help_text="The round's place in its chain (1 = first).")
    betting_ends_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    growth_per_ms = serializers.FloatField(help_text="multiplier = e^(growth_per_ms * ms)")
    max_multiplier = serializers.FloatField()
    crash_point = serializers.FloatField(allow_null=True, help_text="Shown once it has ended.")
    hash = serializers.CharField(allow_null=True, help_text="Shown once it has ended.")
    bets_count = serializers.IntegerField()


class CrashRoundDetailSerializer(CrashRoundPublicSerializer):
    previous_hash = serializers.CharField(
        allow_null=True,
        help_text="The hash sha256(hash) must equal: the previous round's, or the terminal hash.",
    )
    terminal_hash = serializers.CharField()
    salt = serializers.CharField()
    salt_source = serializers.CharField()
    house_edge_bp = serializers.IntegerField()
    bets = CrashBetPublicSerializer(many=True)


class CrashBustSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    crash_point = serializers.FloatField()
    hash = serializers.CharField()
    ended_at = serializers.DateTimeField()


class CrashStateSerializer(serializers.Serializer):
    server_time = serializers.DateTimeField()
    round = CrashRoundPublicSerializer(allow_null=True)
    bets = CrashBetPublicSerializer(many=True)
    busts = CrashBustSerializer(many=True, help_text="The last 20 busted rounds, newest first.")


class RotateInputSerializer(StrictSerializer):
    client_seed = serializers.CharField(
        max_length=64, required=False, help_text="Your new client seed (optional)."
    )


# ---------------------------------------------------------------- documented shapes (schema)
# Game-specific objects list the fields of every game, each present only for its game.


class GachaRewardSerializer(serializers.Serializer):
    gold = serializers.IntegerField()
    item = serializers.CharField(allow_null=True)


class GachaPullSerializer(serializers.Serializer):
    rarity = serializers.CharField()
    reward = GachaRewardSerializer()
    pity_before = serializers.IntegerField()
    pity_after = serializers.IntegerField()
    was_pity = serializers.BooleanField()


class RoundOutcomeSerializer(serializers.Serializer):
    """The drawn outcome, by game; empty while a crash round is open (its point is secret)."""

    reels = serializers.ListField(child=serializers.CharField(), required=False, help_text="slot")
    player = serializers.CharField(required=False, help_text="rps")
    opponent = serializers.CharField(required=False, help_text="rps")
    result = serializers.ChoiceField(choices=["win", "loss", "draw"], required=False)
    crash_x100 = serializers.IntegerField(required=False, help_text="crash")
    cashout_x100 = serializers.IntegerField(required=False, allow_null=True, help_text="crash")
    pulls = GachaPullSerializer(many=True, required=False, help_text="gacha")
    pity = serializers.IntegerField(required=False, help_text="gacha")


class RoundParamsSerializer(serializers.Serializer):
    """What the player chose, by game (slot: nothing)."""

    choice = serializers.CharField(required=False, help_text="rps")
    count = serializers.IntegerField(required=False, help_text="gacha")
    auto_cashout_x100 = serializers.IntegerField(required=False, allow_null=True, help_text="crash")


class GachaRewardWeightSerializer(GachaRewardSerializer):
    weight = serializers.IntegerField()


class GachaRaritySerializer(serializers.Serializer):
    name = serializers.CharField()
    weight = serializers.IntegerField()
    rewards = GachaRewardWeightSerializer(many=True)


class EngineConfigSerializer(serializers.Serializer):
    """A game's engine configuration, by game."""

    reels = serializers.ListField(
        child=serializers.ListField(child=serializers.ListField(child=serializers.JSONField())),
        required=False,
        help_text="slot: per reel, [symbol, weight] pairs",
    )
    three_of_a_kind = serializers.DictField(child=serializers.IntegerField(), required=False)
    pair = serializers.DictField(child=serializers.IntegerField(), required=False)
    house_edge_bp = serializers.IntegerField(required=False, help_text="crash")
    max_multiplier_x100 = serializers.IntegerField(required=False, help_text="crash")
    growth_per_ms = serializers.FloatField(required=False, help_text="crash")
    rarities = GachaRaritySerializer(many=True, required=False, help_text="gacha")
    pity_threshold = serializers.IntegerField(required=False, help_text="gacha")
    price = serializers.IntegerField(required=False, help_text="gacha")
    ten_pull_price = serializers.IntegerField(required=False, help_text="gacha")
    win_multiplier_x100 = serializers.IntegerField(required=False, help_text="rps")


class OutcomeProbabilitySerializer(serializers.Serializer):
    # DRF's metaclass moves declared fields out of the class: "label" does not shadow Field.label.
    label = serializers.CharField()  # type: ignore[assignment]
    probability = serializers.FloatField()
    probability_exact = serializers.CharField()
    probability_percent = serializers.CharField()
    multiplier_x100 = serializers.IntegerField()


class SlotPaytableSerializer(serializers.Serializer):
    three_of_a_kind = serializers.DictField(child=serializers.IntegerField())
    pair = serializers.DictField(child=serializers.IntegerField())


class ItemDropRateSerializer(serializers.Serializer):
    item = serializers.CharField()
    item_code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField(allow_null=True)
    kind_name = serializers.CharField(allow_null=True)
    probability = serializers.FloatField()
    probability_exact = serializers.CharField()
    probability_percent = serializers.CharField()


class OddsExtraSerializer(serializers.Serializer):
    """Game-specific figures of the odds disclosure."""

    symbols = serializers.ListField(child=serializers.CharField(), required=False)
    max_multiplier_x100 = serializers.IntegerField(required=False)
    paytable = SlotPaytableSerializer(required=False)
    house_edge = serializers.FloatField(required=False)
    house_edge_bp = serializers.IntegerField(required=False)
    target_x100 = serializers.IntegerField(required=False)
    growth_per_ms = serializers.FloatField(required=False)
    instant_bust_probability = serializers.FloatField(required=False)
    probability_crash_at_least = serializers.DictField(
        child=serializers.FloatField(), required=False
    )
    rtp_any_target = serializers.FloatField(required=False)
    base_rates = serializers.DictField(child=serializers.FloatField(), required=False)
    effective_rates = serializers.DictField(child=serializers.FloatField(), required=False)
    base_rates_exact = serializers.DictField(child=serializers.CharField(), required=False)
    effective_rates_exact = serializers.DictField(child=serializers.CharField(), required=False)
    pity_threshold = serializers.IntegerField(required=False)
    pity_share_of_pulls = serializers.FloatField(required=False)
    price = serializers.IntegerField(required=False)
    ten_pull_price = serializers.IntegerField(required=False)
    expected_gold_per_pull = serializers.FloatField(required=False)
    ten_pull_rtp = serializers.FloatField(required=False)
    ten_pull_rtp_percent = serializers.CharField(required=False)
    item_drop_rates = ItemDropRateSerializer(
        many=True, required=False, help_text="gacha: each item's chance per pull, by name"
    )
    choices = serializers.ListField(child=serializers.CharField(), required=False)
    opponent = serializers.CharField(required=False)


class OddsSerializer(serializers.Serializer):
    game = serializers.CharField()
    config_version = serializers.IntegerField()
    rtp = serializers.FloatField()
    rtp_percent = serializers.CharField()
    rtp_exact = serializers.CharField()
    hit_rate = serializers.FloatField()
    hit_rate_percent = serializers.CharField()
    hit_rate_exact = serializers.CharField()
    outcomes = OutcomeProbabilitySerializer(many=True)
    extra = OddsExtraSerializer()
    config = EngineConfigSerializer(help_text="The configuration the figures come from.")


class GachaConfigSerializer(serializers.Serializer):
    config_version = serializers.IntegerField()
    rarities = GachaRaritySerializer(many=True)
    pity_threshold = serializers.IntegerField()
    price = serializers.IntegerField()
    ten_pull_price = serializers.IntegerField()
    odds = OddsSerializer()


class InventoryItemSerializer(serializers.Serializer):
    item_code = serializers.CharField()
    quantity = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class InventorySerializer(serializers.Serializer):
    items = InventoryItemSerializer(many=True)


class LeaderboardEntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    user_id = serializers.IntegerField()
    nickname = serializers.CharField()
    net_win = serializers.IntegerField()
    best_multiplier = serializers.FloatField()
    rounds = serializers.IntegerField()


class LeaderboardSerializer(serializers.Serializer):
    period = serializers.CharField()
    by = serializers.CharField()
    period_start = serializers.DateField(allow_null=True)
    entries = LeaderboardEntrySerializer(many=True)


class VerifiedPullSerializer(GachaRewardSerializer):
    rarity = serializers.CharField()


class VerifiedOutcomeSerializer(serializers.Serializer):
    """An outcome in the comparable shape of the verification, by game."""

    reels = serializers.ListField(child=serializers.CharField(), required=False)
    player = serializers.CharField(required=False)
    opponent = serializers.CharField(required=False)
    result = serializers.CharField(required=False)
    crash_x100 = serializers.IntegerField(required=False)
    pulls = VerifiedPullSerializer(many=True, required=False)


class RoundVerificationSerializer(serializers.Serializer):
    """Until the seed is revealed: ``revealed`` false, ``verified`` null and a ``message``."""

    round_id = serializers.IntegerField()
    game = serializers.CharField()
    nonce = serializers.IntegerField(allow_null=True, help_text="null for a crash bet")
    client_seed = serializers.CharField(allow_null=True, help_text="null for a crash bet")
    server_seed_hash = serializers.CharField(allow_null=True, help_text="null for a crash bet")
    crash_round_id = serializers.IntegerField(required=False, help_text="crash: the shared round")
    hash = serializers.CharField(required=False, help_text="crash: the round's chain hash")
    previous_hash = serializers.CharField(
        required=False, help_text="crash: sha256(hash) must equal it (previous round / terminal)"
    )
    salt = serializers.CharField(required=False, help_text="crash: the chain's salt")
    config_version = serializers.IntegerField()
    config = EngineConfigSerializer()
    revealed = serializers.BooleanField()
    verified = serializers.BooleanField(allow_null=True)
    message = serializers.CharField(required=False)
    server_seed = serializers.CharField(required=False)
    hash_matches = serializers.BooleanField(required=False)
    recomputed = VerifiedOutcomeSerializer(required=False)
    stored = VerifiedOutcomeSerializer(required=False)


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
    outcome = RoundOutcomeSerializer()
    params = RoundParamsSerializer()
    nonce = serializers.IntegerField(allow_null=True, help_text="null for a crash bet")
    server_seed_hash = serializers.CharField(allow_null=True, help_text="null for a crash bet")
    client_seed = serializers.CharField(allow_null=True, help_text="null for a crash bet")
    crash_round_id = serializers.IntegerField(
        allow_null=True, help_text="crash: the shared round of the bet (GET crash/rounds/{id})"
    )
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
    kind = serializers.ChoiceField(choices=BlockKind.choices)
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


class RevealedSeedSerializer(FairnessSerializer):
    """A seed pair; once rotated out, its server seed is revealed."""

    server_seed = serializers.CharField(required=False)
    revealed_at = serializers.DateTimeField(required=False)


class RotateResultSerializer(serializers.Serializer):
    previous = RevealedSeedSerializer()
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
