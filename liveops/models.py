"""Live operations: player metrics, segments, the inbox, campaigns and their deliveries.

``PlayerMetrics`` is derived (``services.player_metrics_recompute``, one set-based statement);
``CampaignDelivery`` is the exactly-once record of a campaign reaching (or holding out) a player.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

BUCKET_VALIDATORS = [MinValueValidator(1), MaxValueValidator(5)]


class Category(models.TextChoices):
    REWARDS = "rewards", "Rewards"
    EVENTS = "events", "Events"
    MARKETING = "marketing", "Marketing"


class PlayerMetrics(models.Model):
    """Per-player figures recomputed by the segments job (docs/decisions/0215).

    RFM buckets are 1-5 for players with at least one standing purchase and 0 for the others.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="liveops_metrics",
    )
    purchase_count = models.PositiveIntegerField(default=0)
    lifetime_value_cents = models.BigIntegerField(default=0)
    first_purchase_at = models.DateTimeField(null=True, blank=True)
    last_purchase_at = models.DateTimeField(null=True, blank=True)
    recency_bucket = models.PositiveSmallIntegerField(default=0)
    frequency_bucket = models.PositiveSmallIntegerField(default=0)
    monetary_bucket = models.PositiveSmallIntegerField(default=0)
    last_active_at = models.DateTimeField(null=True, blank=True)
    activity_streak_days = models.PositiveIntegerField(default=0)
    spend_last_hour_cents = models.BigIntegerField(default=0)
    is_rapid_spend = models.BooleanField(default=False)
    is_chasing_losses = models.BooleanField(default=False)
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = "player metrics"
        verbose_name_plural = "player metrics"
        permissions = [("recompute_playermetrics", "Can recompute player metrics now")]

    def __str__(self) -> str:
        return f"metrics of user {self.user_id}"


class PlayerLogTotals(models.Model):
    """What the event log says of one player so far, folded in log order by the projection
    ``liveops_player_totals`` (docs/decisions/0256): the metrics job reads these rows, not the log.

    A row exists once the player has an event. ``user_id`` is the log's player id, without a
    foreign key: the log outlives nothing and names players the same way. The activity streak is
    the run of consecutive local days (``TIME_ZONE``) ``streak_first_day``..``streak_last_day``;
    whether it still counts (ends today or yesterday) is the metrics job's business.
    """

    user_id = models.BigIntegerField(primary_key=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    streak_first_day = models.DateField(null=True, blank=True)
    streak_last_day = models.DateField(null=True, blank=True)
    purchase_count = models.PositiveIntegerField(default=0)
    lifetime_value_cents = models.BigIntegerField(default=0)
    first_purchase_at = models.DateTimeField(null=True, blank=True)
    last_purchase_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "player log totals"
        verbose_name_plural = "player log totals"

    def __str__(self) -> str:
        return f"log totals of user {self.user_id}"


class Purpose(models.TextChoices):
    MARKETING = "marketing", "Marketing (never includes blocked players)"
    SERVICE = "service", "Service (may include blocked players)"


class RiskFilter(models.TextChoices):
    ANY = "", "Any"
    NONE = "none", "No risk signal"
    ANY_SIGNAL = "any_signal", "Any risk signal"
    RAPID_SPEND = "rapid_spend", "Rapid spend"
    CHASING_LOSSES = "chasing_losses", "Chasing losses"


class PlayStateFilter(models.TextChoices):
    ANY = "", "Any"
    ALLOWED = "allowed", "Not blocked"
    BLOCKED = "blocked", "Cooling off or self-excluded"


class Segment(models.Model):
    """A saved filter over player metrics and profile; an empty field does not filter."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.MARKETING)
    rank = models.CharField(max_length=8, blank=True)
    level_min = models.PositiveIntegerField(null=True, blank=True)
    level_max = models.PositiveIntegerField(null=True, blank=True)
    language = models.CharField(max_length=8, blank=True)
    joined_after = models.DateTimeField(null=True, blank=True)
    joined_before = models.DateTimeField(null=True, blank=True)
    spend_min_cents = models.BigIntegerField(null=True, blank=True)
    spend_max_cents = models.BigIntegerField(null=True, blank=True)
    last_seen_after = models.DateTimeField(null=True, blank=True)
    last_seen_before = models.DateTimeField(null=True, blank=True)
    recency_min = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=BUCKET_VALIDATORS
    )
    recency_max = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=BUCKET_VALIDATORS
    )
    frequency_min = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=BUCKET_VALIDATORS
    )
    frequency_max = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=BUCKET_VALIDATORS
    )
    monetary_min = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=BUCKET_VALIDATORS
    )
    monetary_max = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=BUCKET_VALIDATORS
    )
    risk = models.CharField(max_length=16, choices=RiskFilter.choices, blank=True)
    play_state = models.CharField(max_length=16, choices=PlayStateFilter.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """One inbox message of one player, rendered in the player's language when it was sent."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    category = models.CharField(max_length=16, choices=Category.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(max_length=4000, blank=True)
    reward_gold = models.BigIntegerField(null=True, blank=True)
    reward_item_code = models.CharField(max_length=64, blank=True)
    reward_item_quantity = models.PositiveIntegerField(default=0)
    campaign = models.ForeignKey(
        "Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    read_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-id"], name="liveops_notification_inbox"),
            models.Index(
                fields=["user"],
                name="liveops_notification_unread",
                condition=models.Q(read_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"notification {self.pk} to user {self.user_id}"

    @property
    def has_reward(self) -> bool:
        return bool(self.reward_gold) or bool(self.reward_item_code)


class NotificationPreference(models.Model):
    """Which categories a player also gets by e-mail (the inbox always gets everything)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    email_rewards = models.BooleanField(default=True)
    email_events = models.BooleanField(default=False)
    email_marketing = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"notification preferences of user {self.user_id}"


class Target(models.TextChoices):
    EVERYONE = "everyone", "Everyone"
    SEGMENT = "segment", "A segment"
    LISTED = "listed", "Listed players"


class Trigger(models.TextChoices):
    NONE = "", "None (sent now or at a time)"
    FIRST_PURCHASE = "first_purchase", "First purchase"
    LEVEL_REACHED = "level_reached", "Level reached (value: the level)"
    INACTIVE_DAYS = "inactive_days", "Inactive for N days (value: the days)"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    SENT = "sent", "Sent"
    ACTIVE = "active", "Active rule"
    STOPPED = "stopped", "Stopped rule"


class Campaign(models.Model):
    """A message to a target, sent once (now or at a time) or, with a trigger, to every player who
    meets the rule, each player at most once. Templates may use ``$nickname`` and ``$level``."""

    name = models.CharField(max_length=100)
    category = models.CharField(max_length=16, choices=Category.choices)
    title_en = models.CharField("title (English)", max_length=200)
    title_ko = models.CharField("title (Korean)", max_length=200, blank=True)
    body_en = models.TextField("body (English)", max_length=4000, blank=True)
    body_ko = models.TextField("body (Korean)", max_length=4000, blank=True)
    target = models.CharField(max_length=16, choices=Target.choices, default=Target.EVERYONE)
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    listed_site_ids = models.TextField(
        blank=True, help_text="Site ids of the listed players, separated by spaces or new lines."
    )
    trigger = models.CharField(max_length=16, choices=Trigger.choices, blank=True)
    trigger_value = models.PositiveIntegerField(null=True, blank=True)
    reward_gold = models.PositiveBigIntegerField(null=True, blank=True)
    reward_item_code = models.CharField(max_length=64, blank=True)
    reward_item_quantity = models.PositiveIntegerField(default=1)
    send_email = models.BooleanField(
        default=False, help_text="Also e-mail players who opted in and verified an address."
    )
    holdout_percent = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)]
    )
    scheduled_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    activated_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-id"]
        permissions = [("send_campaign", "Can send a campaign or switch a campaign rule on")]
        indexes = [models.Index(fields=["status", "scheduled_at"], name="liveops_campaign_due")]

    def __str__(self) -> str:
        return self.name


class CampaignVariant(models.Model):
    """An A/B variant: its own texts (blank: the campaign's) and a weight."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=40)
    weight = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    title_en = models.CharField("title (English)", max_length=200, blank=True)
    title_ko = models.CharField("title (Korean)", max_length=200, blank=True)
    body_en = models.TextField("body (English)", max_length=4000, blank=True)
    body_ko = models.TextField("body (Korean)", max_length=4000, blank=True)

    class Meta:
        ordering = ["campaign", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="liveops_variant_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.campaign} / {self.name}"


class CampaignDelivery(models.Model):
    """A campaign reached (or held out) one player: at most one row per (campaign, player)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey(
        CampaignVariant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_holdout = models.BooleanField(default=False)
    notification = models.OneToOneField(
        Notification, null=True, blank=True, on_delete=models.SET_NULL, related_name="delivery"
    )
    delivered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "campaign deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "user"], name="liveops_delivery_once_per_player"
            )
        ]

    def __str__(self) -> str:
        return f"campaign {self.campaign_id} to user {self.user_id}"
