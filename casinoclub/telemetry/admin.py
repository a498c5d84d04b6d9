from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import TelemetryEvent


@admin.register(TelemetryEvent)
class TelemetryEventAdmin(admin.ModelAdmin[TelemetryEvent]):
    """Read-only: what clients reported, for a quick look (analysis runs on the table)."""

    list_display = ["received_at", "user", "name", "ts", "sample_rate"]
    list_filter = ["name", "received_at"]
    search_fields = ["name", "user__site_id"]
    list_select_related = ["user"]
    show_full_result_count = False  # a big table: no COUNT(*) on every page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
