"""Admin for operations players notice: the maintenance switch, announcements, and the mail the
development SMTP server captured (docs/decisions/0226, 0225)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from .admin import AuditedAdmin, ReadOnlyAdmin
from .models import Announcement, CapturedEmail, MaintenanceState
from .operations import announcements_changed, maintenance_set

SWITCH_MAINTENANCE = "casinoclub.switch_maintenance"


class MaintenanceStateForm(forms.ModelForm):
    reason = forms.CharField(max_length=500, help_text="Why (kept in the audit log).")

    class Meta:
        model = MaintenanceState
        fields = ["is_on", "message_en", "message_ko", "retry_after_seconds"]


@admin.register(MaintenanceState)
class MaintenanceStateAdmin(admin.ModelAdmin[MaintenanceState]):
    """One row: turning it on settles open crash rounds and makes every gold-moving route answer
    503 ``maintenance``; each change is audited."""

    form = MaintenanceStateForm
    list_display = ["__str__", "changed_at", "retry_after_seconds"]
    readonly_fields = ["changed_at"]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or request.user.has_perm(
            SWITCH_MAINTENANCE
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(SWITCH_MAINTENANCE)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return (
            request.user.has_perm(SWITCH_MAINTENANCE)
            and not MaintenanceState.objects.filter(pk=1).exists()
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: MaintenanceState, form: Any, change: bool
    ) -> None:
        state = maintenance_set(
            actor=request.user,
            is_on=obj.is_on,
            message_en=obj.message_en,
            message_ko=obj.message_ko,
            retry_after_seconds=obj.retry_after_seconds,
            reason=form.cleaned_data["reason"],
        )
        obj.pk = 1
        obj.is_on = state.is_on


@admin.register(Announcement)
class AnnouncementAdmin(AuditedAdmin):
    """Scheduled banners: every save and delete is audited and refreshes the cached list."""

    list_display = ["text_en", "severity", "starts_at", "ends_at", "pushed_at"]
    list_filter = ["severity"]
    readonly_fields = ["pushed_at", "created_at"]

    def save_model(self, request: HttpRequest, obj: Announcement, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        announcements_changed()

    def delete_model(self, request: HttpRequest, obj: Announcement) -> None:
        super().delete_model(request, obj)
        announcements_changed()


@admin.register(CapturedEmail)
class CapturedEmailAdmin(ReadOnlyAdmin):
    """What the development SMTP server received: read-only, for staff allowed to read it."""

    list_display = ["received_at", "subject", "recipients", "mail_from"]
    search_fields = ["recipients", "subject"]
    readonly_fields = ["received_at", "mail_from", "recipients", "subject", "body_text", "raw"]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("casinoclub.read_captured_email")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(
            "casinoclub.read_captured_email"
        ) or super().has_module_permission(request)
