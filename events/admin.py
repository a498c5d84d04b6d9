"""Staff edit events and missions (audited); progress is derived from play and is read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from casinoclub.admin import AuditedAdmin, ReadOnlyAdmin
from events import services
from events.models import Event, EventParticipation, Mission, MissionProgress


class EventsAuditedAdmin(AuditedAdmin):
    """Audited like all configuration; a save also refreshes the public events page."""

    def save_object(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_object(request, obj, form, change)
        transaction.on_commit(services.public_events_forget)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # progress and claims refer to them: deactivate instead


@admin.register(Event)
class EventAdmin(EventsAuditedAdmin):
    list_display = [
        "title", "starts_at", "ends_at", "requirement_type", "game", "target",
        "reward_gold", "reward_xp", "is_active", "is_public",
    ]  # fmt: skip
    list_filter = ["is_active", "is_public", "requirement_type", "game"]
    search_fields = ["title", "title_ko"]
    date_hierarchy = "starts_at"


@admin.register(Mission)
class MissionAdmin(EventsAuditedAdmin):
    list_display = [
        "code", "title", "period", "requirement_type", "game", "target",
        "reward_gold", "reward_xp", "is_active", "display_order",
    ]  # fmt: skip
    list_filter = ["period", "is_active", "requirement_type", "game"]
    search_fields = ["code", "title", "title_ko"]


@admin.register(EventParticipation)
class EventParticipationAdmin(ReadOnlyAdmin):
    list_display = [
        "user", "event", "progress", "progress_version", "joined_at", "completed_at", "claimed_at",
    ]  # fmt: skip
    list_filter = ["event"]
    search_fields = ["user__site_id", "user__nickname"]
    list_select_related = ["user", "event"]
    raw_id_fields = ["user"]


@admin.register(MissionProgress)
class MissionProgressAdmin(ReadOnlyAdmin):
    list_display = [
        "user", "mission", "period_start", "progress", "progress_version",
        "completed_at", "claimed_at", "closed_at",
    ]  # fmt: skip
    list_filter = ["mission", "period_start"]
    search_fields = ["user__site_id", "user__nickname"]
    list_select_related = ["user", "mission"]
    raw_id_fields = ["user"]
