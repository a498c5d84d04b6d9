from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from . import services
from .models import InviteCode, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["-date_joined"]
    list_display = ["site_id", "nickname", "rank", "level", "is_active", "is_staff", "date_joined"]
    list_filter = ["rank", "is_active", "is_staff", "date_joined"]
    search_fields = ["site_id", "nickname", "phone_number"]
    readonly_fields = ["last_login", "date_joined", "token_version", "invite_code"]
    actions = ["ban_users", "unban_users"]
    fieldsets = (
        (None, {"fields": ("site_id", "password")}),
        ("Profile", {"fields": ("nickname", "phone_number", "invite_code")}),
        ("Progress", {"fields": ("rank", "vip_points", "level", "experience")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined", "token_version")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("site_id", "nickname", "phone_number", "password1", "password2"),
            },
        ),
    )

    @admin.action(description="Ban selected users (revokes their sessions)")
    def ban_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset.exclude(pk=request.user.pk or 0):
            services.user_set_active(user, is_active=False)
        self.message_user(request, "Selected users banned.", messages.SUCCESS)

    @admin.action(description="Unban selected users")
    def unban_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.user_set_active(user, is_active=True)
        self.message_user(request, "Selected users unbanned.", messages.SUCCESS)


class InviteCodeBatchForm(forms.Form):
    count = forms.IntegerField(min_value=1, max_value=1000, initial=10)
    max_uses = forms.IntegerField(min_value=1, required=False, help_text="Empty: unlimited.")
    expires_at = forms.DateTimeField(required=False, help_text="YYYY-MM-DD HH:MM; empty: never.")
    note = forms.CharField(max_length=200, required=False)


@admin.register(InviteCode)
class InviteCodeAdmin(admin.ModelAdmin[InviteCode]):
    list_display = [
        "code",
        "uses",
        "max_uses",
        "expires_at",
        "is_active",
        "created_by",
        "created_at",
    ]
    list_filter = ["is_active", "created_at", "expires_at"]
    search_fields = ["code", "note"]
    readonly_fields = ["uses", "created_by", "created_at"]
    actions = ["deactivate_codes", "activate_codes"]
    change_list_template = "admin/accounts/invitecode/change_list.html"

    def save_model(self, request: HttpRequest, obj: InviteCode, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]  # staff only reach admin
        super().save_model(request, obj, form, change)

    @admin.action(description="Deactivate selected codes")
    def deactivate_codes(self, request: HttpRequest, queryset: QuerySet[InviteCode]) -> None:
        queryset.update(is_active=False)

    @admin.action(description="Activate selected codes")
    def activate_codes(self, request: HttpRequest, queryset: QuerySet[InviteCode]) -> None:
        queryset.update(is_active=True)

    def get_urls(self) -> list[Any]:
        generate = path(
            "generate/",
            self.admin_site.admin_view(self.generate_view),
            name="accounts_invitecode_generate",
        )
        return [generate, *super().get_urls()]

    def generate_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        form = InviteCodeBatchForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            codes = services.invite_codes_create(
                created_by=request.user,  # type: ignore[arg-type]  # staff only reach admin
                **form.cleaned_data,
            )
            self.message_user(
                request, f"Created {len(codes)} codes: " + ", ".join(c.code for c in codes[:20])
            )
            return HttpResponseRedirect(reverse("admin:accounts_invitecode_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Create invite codes",
        }
        return TemplateResponse(request, "admin/accounts/invitecode/generate.html", context)
