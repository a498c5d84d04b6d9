from __future__ import annotations

import csv
import json
import secrets
from collections.abc import Iterator
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from casinoclub.admin import ReadOnlyAdmin
from casinoclub.errors import ApplicationError

from . import services
from .models import AuditLogEntry, InviteCode, LedgerEntry, User, Wallet
from .selectors import login_name_is_taken, wallet_balance


def _staff(request: HttpRequest) -> User:
    """The staff member behind an admin request (admin views are for staff only)."""
    assert isinstance(request.user, User)
    return request.user


class LoginNamesFormMixin:
    """Admin forms refuse a site_id or nickname that looks like another player's, with the same
    rule as signup (``selectors.login_name_is_taken``), instead of failing on save."""

    instance: User
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]  # a ModelForm's clean
        messages_by_field = {
            "site_id": "This site ID looks like another player's site ID or nickname.",
            "nickname": "This nickname looks like another player's site ID or nickname.",
        }
        for field, message in messages_by_field.items():
            value = cleaned.get(field)
            if value and login_name_is_taken(str(value), exclude_user_id=self.instance.pk):
                self.add_error(field, message)  # type: ignore[attr-defined]  # a ModelForm's
        return cleaned


class UserAdminChangeForm(LoginNamesFormMixin, UserChangeForm):
    pass


class UserAdminCreationForm(LoginNamesFormMixin, UserCreationForm):
    pass


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = UserAdminCreationForm
    ordering = ["-date_joined"]
    list_display = ["site_id", "nickname", "rank", "level", "is_active", "is_staff", "date_joined"]
    list_filter = ["rank", "is_active", "is_staff", "date_joined"]
    search_fields = ["site_id", "nickname", "phone_number"]
    readonly_fields = ["last_login", "date_joined", "token_version", "invite_code"]
    actions = ["ban_users", "unban_users"]
    change_list_template = "admin/accounts/user/change_list.html"
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
        import_csv = path(
            "import/", self.admin_site.admin_view(self.import_view), name="accounts_user_import"
        )
        import_status = path(
            "import/<str:token>/",
            self.admin_site.admin_view(self.import_status_view),
            name="accounts_user_import_status",
        )
        return [gold, import_csv, import_status, *super().get_urls()]

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """Save, then audit what changed (rank, VIP points, ban state, permissions)."""
        with transaction.atomic():
            before = services.user_audited_state(obj.pk) if change else None
            super().save_model(request, obj, form, change)
            services.staff_user_saved(actor=_staff(request), user=obj, before=before)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        with transaction.atomic():
            services.staff_objects_deleted(
                actor=_staff(request), action="user_delete", targets=[str(obj)]
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        with transaction.atomic():
            targets = [str(user) for user in queryset]
            services.staff_objects_deleted(
                actor=_staff(request), action="user_delete", targets=targets
            )
            super().delete_queryset(request, queryset)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a CSV → dry-run preview with per-row errors → confirm → import in the worker."""
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import users (CSV)",
            "columns": "site_id,nickname,phone_number,password[,rank]",
        }
        if request.method == "POST" and "token" in request.POST:
            token = request.POST["token"]
            if not services.user_import_confirm(token=token, actor=_staff(request)):
                self.message_user(
                    request, "That preview has expired: upload again.", messages.ERROR
                )
                return HttpResponseRedirect(reverse("admin:accounts_user_import"))
            return HttpResponseRedirect(reverse("admin:accounts_user_import_status", args=[token]))
        form = UserImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                token, report = services.user_import_preview(
                    content=upload.read(), actor=_staff(request)
                )
            except ApplicationError as error:
                form.add_error("file", error.message)
            else:
                context.update(token=token, report=report, file_name=upload.name)
                return TemplateResponse(request, "admin/accounts/user/import_preview.html", context)
        context["form"] = form
        return TemplateResponse(request, "admin/accounts/user/import.html", context)

    def import_status_view(self, request: HttpRequest, token: str) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        status = services.user_import_status(token)
        if status is None:
            return HttpResponse(status=404)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import users (CSV): progress",
            "status": status,
            "is_finished": status["state"] in ("done", "failed"),
        }
        return TemplateResponse(request, "admin/accounts/user/import_status.html", context)

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
            services.user_set_active(user, is_active=False, actor=_staff(request))
        self.message_user(request, "Selected users banned.", messages.SUCCESS)

    @admin.action(description="Unban selected users")
    def unban_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.user_set_active(user, is_active=True, actor=_staff(request))
        self.message_user(request, "Selected users unbanned.", messages.SUCCESS)


class UserImportForm(forms.Form):
    file = forms.FileField(
        help_text="UTF-8 CSV, header site_id,nickname,phone_number,password[,rank]."
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > settings.USER_IMPORT_MAX_UPLOAD_BYTES:
            limit = settings.USER_IMPORT_MAX_UPLOAD_BYTES // (1024 * 1024)
            raise forms.ValidationError(
                f"At most {limit} MB here; import larger files with manage.py import_users."
            )
        return upload


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
        with transaction.atomic():
            before = services.invite_code_audited_state(obj.pk) if change else None
            if not change:
                obj.created_by = _staff(request)
            super().save_model(request, obj, form, change)
            services.staff_invite_code_saved(actor=_staff(request), code=obj, before=before)

    def delete_model(self, request: HttpRequest, obj: InviteCode) -> None:
        with transaction.atomic():
            services.staff_objects_deleted(
                actor=_staff(request), action="invite_codes_delete", targets=[obj.code]
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[InviteCode]) -> None:
        with transaction.atomic():
            codes = list(queryset.values_list("code", flat=True))
            services.staff_objects_deleted(
                actor=_staff(request), action="invite_codes_delete", targets=codes
            )
            super().delete_queryset(request, queryset)

    @admin.action(description="Deactivate selected codes")
    def deactivate_codes(self, request: HttpRequest, queryset: QuerySet[InviteCode]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        services.invite_codes_set_active(actor=_staff(request), code_ids=ids, is_active=False)

    @admin.action(description="Activate selected codes")
    def activate_codes(self, request: HttpRequest, queryset: QuerySet[InviteCode]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        services.invite_codes_set_active(actor=_staff(request), code_ids=ids, is_active=True)

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
                created_by=_staff(request), source="admin", **form.cleaned_data
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


class AuditActionFilter(admin.SimpleListFilter):
    """The actions that occur in the log (the column is free text, written by every app)."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        actions = AuditLogEntry.objects.order_by("action").values_list("action", flat=True)
        return [(action, action) for action in actions.distinct()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(action=self.value()) if self.value() else queryset


class AuditActorFilter(admin.SimpleListFilter):
    """Staff members who acted (plus "commands": rows written by manage.py, without an actor)."""

    title = "actor"
    parameter_name = "actor"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        actor_ids = AuditLogEntry.objects.exclude(actor=None).values("actor_id").distinct()
        actors = User.objects.filter(pk__in=actor_ids).order_by("site_id")
        return [("none", "commands (no actor)"), *((str(a.pk), str(a)) for a in actors)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "none":
            return queryset.filter(actor=None)
        if value and value.isdigit():
            return queryset.filter(actor_id=int(value))
        return queryset


def _csv_cell(value: Any) -> str:
    """A spreadsheet never runs a cell as a formula: text starting with = + - @ is quoted."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


AUDIT_CSV_COLUMNS = [
    "id", "created_at", "actor_id", "actor", "action", "target_user_id", "target", "reason",
    "before", "after",
]  # fmt: skip


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "action", "target", "reason"]
    list_filter = [AuditActionFilter, AuditActorFilter, "created_at"]
    search_fields = ["action", "target", "reason", "actor__site_id", "actor__nickname"]
    date_hierarchy = "created_at"
    list_select_related = ["actor"]
    change_list_template = "admin/accounts/auditlogentry/change_list.html"

    def get_urls(self) -> list[Any]:
        export = path(
            "export.csv",
            self.admin_site.admin_view(self.export_csv_view),
            name="accounts_auditlogentry_export",
        )
        return [export, *super().get_urls()]

    def export_csv_view(self, request: HttpRequest) -> HttpResponseBase:
        """The changelist's rows (its filters, search and date drill-down) as a streamed CSV."""
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        try:
            queryset = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(reverse("admin:accounts_auditlogentry_changelist"))
        rows = queryset.select_related("actor").order_by("-created_at", "-id")

        def lines() -> Iterator[str]:
            buffer = _Echo()
            writer = csv.writer(buffer)
            yield writer.writerow(AUDIT_CSV_COLUMNS)
            for entry in rows.iterator(chunk_size=2000):
                yield writer.writerow(
                    [
                        entry.pk,
                        entry.created_at.isoformat(),
                        entry.actor_id,
                        _csv_cell(entry.actor.site_id if entry.actor else ""),
                        _csv_cell(entry.action),
                        entry.target_user_id,
                        _csv_cell(entry.target),
                        _csv_cell(entry.reason),
                        _csv_cell(json.dumps(entry.before, ensure_ascii=False)),
                        _csv_cell(json.dumps(entry.after, ensure_ascii=False)),
                    ]
                )

        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
        return response


class _Echo:
    """A file-like object for csv.writer that hands each written row back instead of storing it."""

    def write(self, value: str) -> str:
        return value


class GoldAdjustForm(forms.Form):
    amount = forms.IntegerField(
        min_value=-(10**12), max_value=10**12, help_text="Positive grants, negative revokes."
    )
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    request_id = forms.CharField(widget=forms.HiddenInput)  # makes a double submit harmless
