from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from casinoclub.errors import ApplicationError

from . import services
from .models import AuditLogEntry, InviteCode, LedgerEntry, User, Wallet
from .selectors import wallet_balance


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

    def get_urls(self) -> list[Any]:
        gold = path(
            "<int:user_id>/gold/",
            self.admin_site.admin_view(self.gold_view),
            name="accounts_user_gold",
        )
        return [gold, *super().get_urls()]

    def gold_view(self, request: HttpRequest, user_id: int) -> HttpResponse:
        """Grant or revoke gold through the ledger, with a reason; audited."""
        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        player = User.objects.filter(pk=user_id).first()
        if player is None:
            return HttpResponse(status=404)
        initial = {"request_id": secrets.token_hex(16)}
        form = GoldAdjustForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                services.staff_gold_adjust(
                    actor=request.user,  # type: ignore[arg-type]  # staff only reach admin
                    user_id=player.pk,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    idempotency_key=f"admin:{form.cleaned_data['request_id']}",
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, f"Gold adjusted for {player}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[player.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": f"Grant or revoke gold: {player} (balance {wallet_balance(player.pk)})",
        }
        return TemplateResponse(request, "admin/form_page.html", context)

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
        return TemplateResponse(request, "admin/form_page.html", context)


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Append-only records: visible and filterable, never added, edited or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "wallet", "delta", "balance_after", "reason", "reference", "created_at"]
    list_filter = ["reason", "created_at"]
    search_fields = ["wallet__user__site_id", "wallet__user__nickname", "reference"]
    list_select_related = ["wallet"]


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    list_display = ["user", "balance", "updated_at", "adjust_link"]
    search_fields = ["user__site_id", "user__nickname"]
    list_select_related = ["user"]

    @admin.display(description="Adjust")
    def adjust_link(self, wallet: Wallet) -> str:
        url = reverse("admin:accounts_user_gold", args=[wallet.user_id])
        return format_html('<a href="{}">Grant / revoke gold</a>', url)


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "action", "target", "reason"]
    list_filter = ["action", "created_at"]
    search_fields = ["target", "reason", "actor__site_id"]


class GoldAdjustForm(forms.Form):
    amount = forms.IntegerField(
        min_value=-(10**12), max_value=10**12, help_text="Positive grants, negative revokes."
    )
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    request_id = forms.CharField(widget=forms.HiddenInput)  # makes a double submit harmless
