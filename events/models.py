"""Events (time-boxed, joined) and missions (daily/weekly, automatic) with per-player progress.

Progress rows are written only by ``events.services`` from domain events; ``progress_version``
only grows (every change increments it, and a CHECK keeps it non-negative).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class RequirementType(models.TextChoices):
    PLAYS = "plays", "Rounds played"
    WINS = "wins", "Rounds won (payout above the bet)"
    GOLD_SPENT = "gold_spent", "Gold spent (bets and gold-priced items)"
    GOLD_WON = "gold_won", "Gold won (net winnings of winning rounds)"
    PURCHASES = "purchases", "Successful shop purchases"
    STREAK_DAYS = "streak_days", "Daily streak length reached"


# Requirements a game filter applies to; the others never come from a round.
ROUND_REQUIREMENTS = (
    RequirementType.PLAYS,
    RequirementType.WINS,
    RequirementType.GOLD_SPENT,
    RequirementType.GOLD_WON,
)


class GameFilter(models.TextChoices):
    ANY = "", "Any game"
    SLOT = "slot", "Slot"
    CRASH = "crash", "Crash"
    GACHA = "gacha", "Gacha"
    RPS = "rps", "Rock-paper-scissors"


class EventStatus(models.TextChoices):
    """Where "now" falls in an event's window (derived, not stored)."""

    UPCOMING = "upcoming", "Upcoming"
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"


class MissionPeriod(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly (weeks start on Monday)"


def _requirement_constraints(prefix: str) -> list[models.BaseConstraint]:
    return [
        models.CheckConstraint(condition=models.Q(target__gt=0), name=f"{prefix}_target_gt_0"),
        models.CheckConstraint(
            condition=models.Q(game="") | models.Q(requirement_type__in=ROUND_REQUIREMENTS),
            name=f"{prefix}_game_filter_on_round_requirements",
            violation_error_message="A game filter applies only to round requirements.",
        ),
    ]


class Requirement(models.Model):
    """What a player must do and what claiming pays (shared by events and missions)."""

    title = models.CharField(max_length=100)
    title_ko = models.CharField("title (Korean)", max_length=100, blank=True)
    description = models.TextField(blank=True)
    description_ko = models.TextField("description (Korean)", blank=True)
    requirement_type = models.CharField(max_length=16, choices=RequirementType.choices)
    game = models.CharField(
        max_length=8,
        choices=GameFilter.choices,
        blank=True,
        default=GameFilter.ANY,
        help_text="Only rounds of this game count (round requirements only).",
    )
    target = models.PositiveBigIntegerField()
    reward_gold = models.PositiveBigIntegerField(default=0)
    reward_xp = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.title


class Event(Requirement):
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    is_public = models.BooleanField(
        default=True, help_text="Listed on the public (no login) events page."
    )

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            *_requirement_constraints("event"),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="event_ends_after_start",
                violation_error_message="An event must end after it starts.",
            ),
        ]
        indexes = [models.Index(fields=["is_active", "ends_at"], name="event_active_ends_idx")]


class EventParticipation(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="participations")
    progress = models.PositiveBigIntegerField(default=0)
    progress_version = models.PositiveBigIntegerField(default=0)
    joined_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "event"], name="event_participation_once"),
            models.CheckConstraint(
                condition=models.Q(claimed_at__isnull=True) | models.Q(completed_at__isnull=False),
                name="event_participation_claimed_after_completed",
            ),
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} in event {self.event_id}"


class Mission(Requirement):
    code = models.SlugField(max_length=64, unique=True)
    period = models.CharField(max_length=8, choices=MissionPeriod.choices)
    display_order = models.IntegerField(default=0)

    class Meta:
        ordering = ["period", "display_order", "id"]
        constraints = _requirement_constraints("mission")


class MissionProgress(models.Model):
    """A player's progress on one mission in one period (``period_start``: a local date).

    Created on the first progress of the period. ``closed_at`` is set by the reset task once the
    period is over; a closed row that was never claimed is an expired reward.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    mission = models.ForeignKey(Mission, on_delete=models.CASCADE, related_name="progress_rows")
    period_start = models.DateField()
    progress = models.PositiveBigIntegerField(default=0)
    progress_version = models.PositiveBigIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "mission", "period_start"], name="mission_progress_once_per_period"
            ),
            models.CheckConstraint(
                condition=models.Q(claimed_at__isnull=True) | models.Q(completed_at__isnull=False),
                name="mission_progress_claimed_after_completed",
            ),
        ]
        indexes = [
            models.Index(
                fields=["period_start"],
                condition=models.Q(closed_at__isnull=True),
                name="mission_progress_open_idx",
            ),
        ]
        verbose_name_plural = "mission progress"

    def __str__(self) -> str:
        return f"user {self.user_id} on mission {self.mission_id} from {self.period_start}"
