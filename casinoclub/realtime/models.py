"""The transactional outbox of socket messages: a per-user sequence and the messages it numbered."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class RealtimeCursor(models.Model):
    """The last ``seq`` handed out to a user. Never deleted, so a seq is never reused."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    last_seq = models.BigIntegerField(default=0)

    class Meta:
        db_table = "realtime_cursor"  # named in the upsert of services.realtime_publish

    def __str__(self) -> str:
        return f"user {self.user_id} at seq {self.last_seq}"


class RealtimeMessage(models.Model):
    """One server → client message, stored in the transaction of the change that caused it."""

    # No separate user index: the (user, seq) unique index below serves both lookups and the
    # ``seq > n ORDER BY seq`` range reads of a replay.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    seq = models.BigIntegerField()
    type = models.CharField(max_length=32)
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "realtime_message"
        constraints = [
            models.UniqueConstraint(fields=["user", "seq"], name="realtime_message_user_seq_uniq")
        ]
        indexes = [models.Index(fields=["created_at"], name="realtime_message_created_idx")]

    def __str__(self) -> str:
        return f"{self.type} #{self.seq} for user {self.user_id}"
