from django.conf import settings
from django.db import models
from django.utils import timezone


class TelemetryEvent(models.Model):
    """One client event kept for analysis. ``sample_rate`` < 1: the name is sampled, so each
    stored row stands for 1 / sample_rate events."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=64)
    ts = models.DateTimeField(help_text="When the client says the event happened.")
    props = models.JSONField(default=dict, blank=True)
    sample_rate = models.FloatField(default=1.0)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["name", "ts"], name="telemetry_event_name_ts_idx")]

    def __str__(self) -> str:
        return f"{self.name} of user {self.user_id} at {self.ts:%Y-%m-%d %H:%M:%S}"
