from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone


class IdempotencyRecord(models.Model):
    """The stored response of a completed gold-moving request, replayed for a repeated key."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


# the event types the partial purchase indexes cover (a query that names one of them can use them)
PURCHASE_EVENT_TYPES = ("purchase_succeeded", "purchase_reversed")


class DomainEvent(models.Model):
    """One fact a money transaction made true (a settled round, a purchase, a claimed reward).

    Appended in that transaction (``casinoclub.eventlog.domain_event_append``), never changed.
    ``transaction_id`` is the writer's ``pg_current_xact_id()``: projections read only events whose
    transaction is older than every running one, so an event that commits after a higher id is
    never skipped (docs/decisions/0140-event-log-and-projections.md).
    """

    id = models.BigAutoField(primary_key=True)
    type = models.CharField(max_length=40)
    user_id = models.BigIntegerField()
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    transaction_id = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["transaction_id", "id"], name="domainevent_xid_id"),
            # Day ranges for the analytics rollups and the warehouse export: the log is appended
            # in time order, so a BRIN index finds a day for a few pages of index and costs the
            # writer next to nothing (docs/decisions/0235-analytics-app.md).
            BrinIndex(fields=["created_at"], name="domainevent_created_brin"),
            # Purchases are rare next to rounds: partial indexes over them cost the spin nothing
            # and let live operations read a player's purchases, or the last hour's, without
            # scanning the log (docs/decisions/0256-player-metrics-folded-from-the-log.md).
            models.Index(
                fields=["user_id", "transaction_id", "id"],
                name="domainevent_purchase_user",
                condition=Q(type__in=PURCHASE_EVENT_TYPES),
            ),
            models.Index(
                fields=["created_at"],
                name="domainevent_purchase_time",
                condition=Q(type__in=PURCHASE_EVENT_TYPES),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pk}:{self.type}:{self.user_id}"


class ProjectionCursor(models.Model):
    """How far one projection (in one partition of players) has applied the event log.

    Moved in the same transaction as the projection's writes, so every event is applied once.
    """

    name = models.CharField(max_length=60)
    partition = models.PositiveSmallIntegerField(default=0)
    # how many partitions the players were split into when this cursor was made: a cursor of
    # partition k of N means nothing for another N, so the runner refuses a mismatch
    partitions = models.PositiveSmallIntegerField(default=1)
    last_transaction_id = models.BigIntegerField(default=0)
    last_event_id = models.BigIntegerField(default=0)
    last_event_created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["name", "partition"], name="projectioncursor_name_partition_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}[{self.partition}]"


class MaintenanceState(models.Model):
    """The one maintenance switch (row id 1). Changed only through
    ``casinoclub.operations.maintenance_set``, which audits it and refreshes the cached flag."""

    is_on = models.BooleanField(default=False)
    # What the pages and the 503 say, in each language; empty: a generic notice.
    message_en = models.CharField(max_length=300, blank=True)
    message_ko = models.CharField(max_length=300, blank=True)
    # The Retry-After the 503 answers with.
    retry_after_seconds = models.PositiveIntegerField(default=600)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        permissions = [("switch_maintenance", "Can turn maintenance mode on and off")]

    def __str__(self) -> str:
        return "maintenance: on" if self.is_on else "maintenance: off"


class AnnouncementSeverity(models.TextChoices):
    INFO = "info", "Information"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class Announcement(models.Model):
    """A banner staff schedule: shown on every page between ``starts_at`` and ``ends_at`` and
    pushed over the socket once when it starts (``pushed_at``)."""

    text_en = models.CharField(max_length=300)
    text_ko = models.CharField(max_length=300)
    severity = models.CharField(
        max_length=10, choices=AnnouncementSeverity.choices, default=AnnouncementSeverity.INFO
    )
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    pushed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="announcement_ends_after_start",
            )
        ]
        indexes = [models.Index(fields=["ends_at", "starts_at"], name="announcement_window")]

    def __str__(self) -> str:
        return self.text_en[:60]


class CapturedEmail(models.Model):
    """A message the development SMTP server (``manage.py smtp_capture``, started by ``make run``)
    received: nothing leaves the machine, staff read them in the admin."""

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    mail_from = models.CharField(max_length=320)
    recipients = models.TextField()
    subject = models.CharField(max_length=500, blank=True)
    body_text = models.TextField(blank=True)
    raw = models.TextField()

    class Meta:
        ordering = ["-received_at"]
        permissions = [("read_captured_email", "Can read the e-mail captured by the local server")]

    def __str__(self) -> str:
        return f"{self.subject} → {self.recipients}"
