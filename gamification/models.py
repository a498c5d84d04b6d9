"""Progression data: daily streak, VIP claims, per-player counters, achievements, battle pass.

Configuration (``StreakReward``, ``Achievement``, ``Season``, ``Tier``) is edited by staff in admin.
Claim and unlock records are append-only and carry the unique constraints that make every reward
happen once. Counters are changed only by ``gamification.services`` under the player's row lock.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class StreakReward(models.Model):
    """Gold for the n-th consecutive day. Days past the last row get the last row's gold (cap)."""

    day = models.PositiveSmallIntegerField(unique=True, help_text="Streak day, from 1.")
    gold = models.PositiveIntegerField()

    class Meta:
        ordering = ["day"]
        constraints = [
            models.CheckConstraint(condition=models.Q(day__gte=1), name="streak_day_gte_1")
        ]

    def __str__(self) -> str:
        return f"day {self.day}: {self.gold} gold"


class StreakState(models.Model):
    """A player's daily streak. Locked for a claim."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE
    )
    current_streak = models.PositiveIntegerField(default=0)
    best_streak = models.PositiveIntegerField(default=0)
    last_claim_date = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"streak {self.current_streak} (user {self.user_id})"


class StreakClaim(models.Model):
    """One daily claim. ``unique(user, day)``: one per calendar day in ``TIME_ZONE``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    streak_day = models.PositiveIntegerField()
    reward_gold = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    # Not stored: what the claim's service knows right after it (the response shows them without
    # reading again): the streak status and the wallet's balance.
    status: dict[str, Any] | None = None
    balance_after: int | None = None

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="streak_claim_user_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} day {self.streak_day} (user {self.user_id})"


class VipClaim(models.Model):
    """One daily VIP claim. ``unique(user, day)``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    rank = models.CharField(max_length=8)
    points = models.PositiveIntegerField()
    reward_gold = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    # Not stored: what the claim's service knows right after it (the response shows them without
    # reading again): the VIP status and the wallet's balance.
    status: dict[str, Any] | None = None
    balance_after: int | None = None

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="vip_claim_user_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} +{self.points} points (user {self.user_id})"


class PlayerProgress(models.Model):
    """Counters the achievement evaluators read, kept current by the round/purchase/claim hooks."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE
    )
    rounds_played = models.PositiveBigIntegerField(default=0)
    total_bet = models.PositiveBigIntegerField(default=0)
    total_won = models.PositiveBigIntegerField(default=0)
    current_win_streak = models.PositiveIntegerField(default=0)
    best_win_streak = models.PositiveIntegerField(default=0)
    best_multiplier_x100 = models.PositiveBigIntegerField(default=0)
    purchases = models.PositiveIntegerField(default=0)
    best_streak_days = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "player progress"

    def __str__(self) -> str:
        return f"progress of user {self.user_id}"


class Metric(models.TextChoices):
    CUMULATIVE_BET = "cumulative_bet", "Gold bet in total"
    TOTAL_WIN = "total_win", "Gold won in total (payouts)"
    WIN_STREAK = "win_streak", "Longest run of winning rounds"
    GAMES_PLAYED = "games_played", "Rounds played"
    BIGGEST_MULTIPLIER = "biggest_multiplier", "Biggest multiplier (×100: 1000 = 10×)"
    STREAK_DAYS = "streak_days", "Longest daily streak"
    PURCHASES = "purchases", "Successful shop purchases"


class Achievement(models.Model):
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    name_ko = models.CharField("name (Korean)", max_length=100, blank=True)
    description = models.CharField(max_length=300, blank=True)
    description_ko = models.CharField("description (Korean)", max_length=300, blank=True)
    metric = models.CharField(max_length=32, choices=Metric.choices)
    threshold = models.PositiveBigIntegerField(help_text="Unlocks when the metric reaches this.")
    reward_gold = models.PositiveIntegerField(default=0)
    reward_xp = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    display_order = models.IntegerField(default=0)

    class Meta:
        ordering = ["display_order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(threshold__gte=1), name="achievement_threshold_gte_1"
            )
        ]

    def __str__(self) -> str:
        return self.name


class AchievementUnlock(models.Model):
    """An achievement a player reached. ``unique(user, achievement)``: it happens once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    achievement = models.ForeignKey(Achievement, on_delete=models.PROTECT, related_name="unlocks")
    value = models.PositiveBigIntegerField(help_text="The metric's value when it unlocked.")
    unlocked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-unlocked_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "achievement"], name="achievement_unlock_user_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.achievement_id} (user {self.user_id})"


class Season(models.Model):
    """A battle pass season. The current season is the latest started one not yet ended."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    name_ko = models.CharField("name (Korean)", max_length=100, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="season_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def premium_item_code(self) -> str:
        """The inventory item (granted by a shop product) that unlocks the premium track."""
        return f"battle_pass_premium:{self.code}"


class Tier(models.Model):
    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="tiers")
    number = models.PositiveSmallIntegerField()
    xp_required = models.PositiveIntegerField(help_text="Season XP that unlocks this tier.")
    free_reward_gold = models.PositiveIntegerField(default=0)
    free_reward_item = models.CharField(max_length=64, blank=True)
    premium_reward_gold = models.PositiveIntegerField(default=0)
    premium_reward_item = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["season", "number"]
        constraints = [
            models.UniqueConstraint(fields=["season", "number"], name="tier_season_number_unique"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="tier_number_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.season_id} tier {self.number}"


class SeasonProgress(models.Model):
    """XP a player earned while a season was running (rounds, claims, achievements)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="+")
    xp = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "season progress"
        constraints = [
            models.UniqueConstraint(fields=["user", "season"], name="season_progress_user_unique")
        ]

    def __str__(self) -> str:
        return f"{self.xp} XP in season {self.season_id} (user {self.user_id})"


class Track(models.TextChoices):
    FREE = "free", "Free"
    PREMIUM = "premium", "Premium"


class BattlePassClaim(models.Model):
    """A claimed tier reward. ``unique(user, tier, track)``: each tier and track once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="claims")
    track = models.CharField(max_length=8, choices=Track.choices)
    reward_gold = models.PositiveIntegerField()
    reward_item = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "tier", "track"], name="battle_pass_claim_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tier} {self.track} (user {self.user_id})"
