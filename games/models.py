from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Game(models.TextChoices):
    SLOT = "slot", "Slot"
    CRASH = "crash", "Crash"
    GACHA = "gacha", "Gacha"
    RPS = "rps", "Rock-paper-scissors"


class GameConfig(models.Model):
    """One version of a game's configuration. Its parameters are never edited: a change is a new
    version (a draft), live only once activated (``GameConfigActivation``). A draft whose RTP is
    outside ``GAME_CONFIG_RTP_BAND`` needs a second staff member's approval first."""

    game = models.CharField(max_length=8, choices=Game.choices)
    version = models.PositiveIntegerField()
    engine = models.JSONField(help_text="Engine parameters (reels and paytable, rarity table, …).")
    min_bet = models.PositiveIntegerField(default=10)
    max_bet = models.PositiveIntegerField(default=10_000)
    daily_limits = models.JSONField(
        help_text='Rounds per day by rank, e.g. {"STANDARD": 30, "VIP": 50}; 0 = unlimited.'
    )
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # RTP outside the configured band when the version was drafted: activation waits for approval.
    needs_approval = models.BooleanField(default=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["game", "-version"]
        permissions = [
            ("approve_gameconfig", "Can approve a game configuration whose RTP is out of band")
        ]
        constraints = [
            models.UniqueConstraint(fields=["game", "version"], name="game_config_version_unique"),
            models.CheckConstraint(
                condition=models.Q(min_bet__gte=1) & models.Q(max_bet__gte=models.F("min_bet")),
                name="game_config_bet_range",
            ),
            models.CheckConstraint(
                condition=~models.Q(approved_by=models.F("created_by")),
                name="game_config_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.game} v{self.version}"


class GameConfigActivation(models.Model):
    """A version of a game's configuration goes live at ``activates_at`` (now, or a set time).

    The live version of a game is the one of its latest activation whose time has come (read at
    every round, so a scheduled activation needs no job); a rollback is an activation of an
    earlier version. Rows are never edited, except that a scheduled one may be cancelled before
    its time."""

    game = models.CharField(max_length=8, choices=Game.choices)
    config = models.ForeignKey(GameConfig, on_delete=models.PROTECT, related_name="activations")
    activates_at = models.DateTimeField()
    is_rollback = models.BooleanField(default=False)
    reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["game", "-activates_at", "-id"]
        indexes = [
            models.Index(
                fields=["game", "-activates_at", "-id"],
                name="game_config_activation_idx",
                condition=models.Q(cancelled_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.game} v{self.config_id} at {self.activates_at:%Y-%m-%d %H:%M}"


class FairSeed(models.Model):
    """A player's provably fair seed pair. Only the hash of an active server seed is ever shown."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    server_seed = models.BinaryField()
    server_seed_hash = models.CharField(max_length=64)
    client_seed = models.CharField(max_length=64)
    nonce = models.BigIntegerField(default=0, help_text="Rounds played with this pair.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    revealed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(is_active=True), name="fair_seed_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"seed {self.server_seed_hash[:12]}… of user {self.user_id}"


class CrashChain(models.Model):
    """A hash chain made in advance for the shared crash round (docs/fairness.md).

    ``terminal_hash`` is published when the chain is made; ``salt`` is set once, afterwards, from
    the public value named in ``salt_source`` (a future Bitcoin block's hash). Rounds are played
    only on a chain whose salt is set."""

    length = models.PositiveIntegerField()
    terminal_hash = models.CharField(max_length=64, unique=True)
    salt = models.CharField(max_length=128, blank=True)
    salt_source = models.CharField(max_length=200, blank=True)
    salt_set_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        permissions = [("set_crash_chain_salt", "Can set a crash chain's salt (once)")]

    def __str__(self) -> str:
        return f"crash chain {self.pk} ({self.length} rounds, {self.terminal_hash[:12]}…)"


class CrashChainHash(models.Model):
    """One link of a chain: ``position`` k is the hash the chain's round k plays (k = 1 … N);
    position 0 is the terminal hash. Secret until its round is revealed."""

    chain = models.ForeignKey(CrashChain, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain", "position"], name="crash_chain_hash_unique")
        ]

    def __str__(self) -> str:
        return f"chain {self.chain_id} position {self.position}"


class CrashPhase(models.TextChoices):
    BETTING = "betting", "Betting"
    RUNNING = "running", "Running"
    BUSTED = "busted", "Busted"
    VOIDED = "voided", "Voided"


class CrashRound(models.Model):
    """The one crash round everyone plays: its chain link, phase and the times that drive it.

    ``hash`` and ``crash_x100`` are fixed when the round is made and shown only once it busted
    (or was voided). ``bust_at`` = ``started_at`` + the time the curve takes to reach the crash
    point, so any process can judge a cash-out on the server clock without asking the loop."""

    chain = models.ForeignKey(CrashChain, on_delete=models.PROTECT, related_name="rounds")
    position = models.PositiveIntegerField()
    hash = models.CharField(max_length=64)
    crash_x100 = models.IntegerField()
    config = models.ForeignKey(GameConfig, on_delete=models.PROTECT, related_name="+")
    phase = models.CharField(max_length=8, choices=CrashPhase.choices, default=CrashPhase.BETTING)
    betting_ends_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    bust_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The most the round can still pay: the sum of bet x (auto cash-out or the game's maximum
    # multiplier) over its bets, checked against CRASH_ROUND_EXPOSURE_CAP at every bet.
    exposure = models.BigIntegerField(default=0)
    bets_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain", "position"], name="crash_round_chain_unique"),
            # one round at a time is betting or running, whichever process made it
            models.UniqueConstraint(
                models.Value(True),
                condition=models.Q(phase__in=["betting", "running"]),
                name="crash_round_one_live",
            ),
        ]
        indexes = [models.Index(fields=["-id"], name="crash_round_recent_idx")]

    def __str__(self) -> str:
        return f"crash round {self.pk} ({self.phase})"


class RoundState(models.TextChoices):
    OPEN = "open", "Open"
    SETTLED = "settled", "Settled"


class GameRound(models.Model):
    """One round: bet, payout, outcome and every input needed to verify it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    game = models.CharField(max_length=8, choices=Game.choices)
    config = models.ForeignKey(GameConfig, on_delete=models.PROTECT, related_name="+")
    # Slot, RPS and gacha rounds draw from the player's seed pair; a crash bet has neither and
    # belongs to the shared crash round instead (its outcome comes from the hash chain).
    fair_seed = models.ForeignKey(
        FairSeed, null=True, blank=True, on_delete=models.PROTECT, related_name="rounds"
    )
    nonce = models.BigIntegerField(null=True, blank=True)
    crash_round = models.ForeignKey(
        "CrashRound", null=True, blank=True, on_delete=models.PROTECT, related_name="bets"
    )
    bet = models.BigIntegerField()
    payout = models.BigIntegerField(default=0)
    multiplier_x100 = models.IntegerField(default=0)
    outcome = models.JSONField(default=dict)
    params = models.JSONField(default=dict, help_text="The player's choices (rps choice, …).")
    state = models.CharField(max_length=8, choices=RoundState.choices, default=RoundState.SETTLED)
    created_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)

    # Not stored: the wallet's balance right after an instant round settled, when the service
    # knows it (the response shows it without reading the wallet again).
    balance_after: int | None = None

    # Not stored: the player's rounds of this game today, this one included, set by the service
    # that opened the round (the play response shows the plays left without another query).
    plays_today: int | None = None

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["fair_seed", "nonce"], name="game_round_seed_nonce_unique"
            ),
            models.CheckConstraint(condition=models.Q(bet__gt=0), name="game_round_bet_gt_0"),
            models.CheckConstraint(
                condition=models.Q(payout__gte=0), name="game_round_payout_gte_0"
            ),
            models.UniqueConstraint(
                fields=["user", "game"],
                condition=models.Q(state="open"),
                name="game_round_one_open_per_game",
            ),
            models.UniqueConstraint(
                fields=["crash_round", "user"],
                condition=models.Q(crash_round__isnull=False),
                name="game_round_one_bet_per_crash_round",
            ),
            models.CheckConstraint(
                # a crash bet of the shared round, or a round drawn from a seed pair (every other
                # game, and the private crash rounds played before the shared round)
                condition=models.Q(game="crash", crash_round__isnull=False, fair_seed__isnull=True)
                | models.Q(crash_round__isnull=True, fair_seed__isnull=False, nonce__isnull=False),
                name="game_round_fairness_source",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-id"], name="game_round_user_idx"),
            models.Index(fields=["user", "game", "-id"], name="game_round_user_game_idx"),
            models.Index(
                fields=["state", "created_at"],
                name="game_round_open_idx",
                condition=models.Q(state="open"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.game} round {self.pk} of user {self.user_id}"


class PlayerGameStats(models.Model):
    """Per player and game, maintained in each round's transaction."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    game = models.CharField(max_length=8, choices=Game.choices)
    plays = models.BigIntegerField(default=0)
    wins = models.BigIntegerField(default=0)
    losses = models.BigIntegerField(default=0)
    ties = models.BigIntegerField(default=0)
    total_bet = models.BigIntegerField(default=0)
    total_won = models.BigIntegerField(default=0)
    max_win = models.BigIntegerField(default=0)
    max_multiplier_x100 = models.IntegerField(default=0)
    current_win_streak = models.IntegerField(default=0)
    best_win_streak = models.IntegerField(default=0)
    gacha_pity = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "game"], name="player_game_stats_unique")
        ]

    def __str__(self) -> str:
        return f"{self.game} stats of user {self.user_id}"


class DailyPlayCount(models.Model):
    """Rounds played per player, game and calendar day (the configured time zone)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    game = models.CharField(max_length=8, choices=Game.choices)
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "game", "day"], name="daily_play_count_unique")
        ]

    def __str__(self) -> str:
        return f"{self.game} {self.day}: {self.count} (user {self.user_id})"


class LeaderboardPeriod(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    ALL_TIME = "all", "All time"


class LeaderboardEntry(models.Model):
    """A maintained aggregate per player and period, so the leaderboard never scans rounds."""

    period = models.CharField(max_length=6, choices=LeaderboardPeriod.choices)
    period_start = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    net_win = models.BigIntegerField(default=0)
    best_multiplier_x100 = models.IntegerField(default=0)
    rounds = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["period", "period_start", "user"], name="leaderboard_entry_unique"
            )
        ]
        indexes = [
            models.Index(fields=["period", "period_start", "-net_win"], name="leaderboard_net_idx"),
            models.Index(
                fields=["period", "period_start", "-best_multiplier_x100"],
                name="leaderboard_multiplier_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.period_start} user {self.user_id}: {self.net_win}"
