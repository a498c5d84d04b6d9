"""Player activity (one row per player per active day) and the daily rollups staff dashboards read.

Rollup rows are derived data: ``analytics.services.rollups`` replaces a day's rows in one
transaction, so every table can be rebuilt from the event log, the ledger, purchases and activity.
Pages read only these tables, by day (docs/decisions/0235-analytics-app.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class PlayerActivity(models.Model):
    """A player was active on ``day`` (product time zone): an authenticated request or a socket.

    ``sessions`` counts the sockets the player opened that day (a socket is one app session);
    ``shop_viewed`` is set by the first catalog view of the day (the funnel's first step).
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    day = models.DateField()
    sessions = models.PositiveIntegerField(default=0)
    shop_viewed = models.BooleanField(default=False)
    first_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "player activity"
        constraints = [
            # (day, user): the upsert's conflict target and the index every day-range count reads
            models.UniqueConstraint(fields=["day", "user"], name="analytics_activity_day_user")
        ]
        permissions = [("view_analytics", "Can see the analytics dashboards and download them")]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.day}"


class DailyActivity(models.Model):
    """DAU, WAU (7 days ending ``day``), MAU (30 days ending ``day``), new players, sessions."""

    day = models.DateField(unique=True)
    dau = models.PositiveIntegerField()
    wau = models.PositiveIntegerField()
    mau = models.PositiveIntegerField()
    new_players = models.PositiveIntegerField()
    sessions = models.PositiveBigIntegerField()
    shop_viewers = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.day}: {self.dau} active"


class RetentionCohort(models.Model):
    """Players who signed up on ``signup_day`` and how many were active N days later.

    ``dN`` is null while day ``signup_day + N`` is not over yet.
    """

    signup_day = models.DateField(unique=True)
    players = models.PositiveIntegerField()
    d1 = models.PositiveIntegerField(null=True)
    d7 = models.PositiveIntegerField(null=True)
    d30 = models.PositiveIntegerField(null=True)

    def __str__(self) -> str:
        return f"cohort {self.signup_day}"


class FunnelDaily(models.Model):
    """The purchase funnel of one day and product (``product`` "" = every product together).

    ``viewed``: players who opened the catalog that day (every product is on it, so the figure is
    the same on each product's row); ``attempted``: money purchases started that day;
    ``paid``: of those, the ones the gateway captured; ``settled``: of those, the ones that still
    stand (not refunded or charged back). Players count distinct players, purchases count rows.
    """

    day = models.DateField()
    product = models.CharField(max_length=64, blank=True)
    viewed = models.PositiveIntegerField()
    attempted = models.PositiveIntegerField()
    attempted_players = models.PositiveIntegerField()
    paid = models.PositiveIntegerField()
    settled = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "product"], name="analytics_funnel_day_product")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.product or 'all'}"


class RevenueDaily(models.Model):
    """Money of one day in one currency (minor units; currencies are never added together).

    ``sales`` settled that day, ``refunds`` reversed that day, ``net`` = sales − refunds;
    ``payers`` players with a sale that day, ``first_payers`` of them the ones whose first sale
    ever it was; ``dau`` the day's active players (ARPDAU = net / dau, ARPPU = net / payers).
    """

    day = models.DateField()
    currency = models.CharField(max_length=3)
    sales = models.BigIntegerField()
    refunds = models.BigIntegerField()
    net = models.BigIntegerField()
    payers = models.PositiveIntegerField()
    first_payers = models.PositiveIntegerField()
    dau = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "currency"], name="analytics_revenue_day_cur")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.currency}"


class GoldFlowDaily(models.Model):
    """Gold minted (faucets) and burned (sinks) on one day by ledger reason."""

    day = models.DateField()
    reason = models.CharField(max_length=32)
    minted = models.BigIntegerField()
    burned = models.BigIntegerField()
    entries = models.PositiveBigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "reason"], name="analytics_goldflow_day_reason")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.reason}"


class GameDaily(models.Model):
    """Rounds settled on one day per game: players, rounds, gold bet and paid (RTP = paid / bet)."""

    day = models.DateField()
    game = models.CharField(max_length=32)
    players = models.PositiveIntegerField()
    rounds = models.PositiveBigIntegerField()
    bet = models.BigIntegerField()
    payout = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "game"], name="analytics_game_day_game")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.game}"


class ProgressDaily(models.Model):
    """Event and mission participation on one day: players who joined, completed and claimed."""

    day = models.DateField()
    kind = models.CharField(max_length=10)  # "event" | "mission"
    ref_id = models.BigIntegerField()
    name = models.CharField(max_length=200)
    joined = models.PositiveIntegerField()
    completed = models.PositiveIntegerField()
    claimed = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "kind", "ref_id"], name="analytics_progress_key")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.ref_id}"


class RollupRun(models.Model):
    """When a day's rollups were last computed and how long that took (kept apart from the
    rollup rows, so a re-run over unchanged data leaves the rollup rows exactly as they were)."""

    day = models.DateField(unique=True)
    computed_at = models.DateTimeField()
    seconds = models.FloatField()

    def __str__(self) -> str:
        return f"rollup of {self.day}"
