from __future__ import annotations

import csv
import json
import secrets
from collections.abc import Iterator
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.core.exceptions import PermissionDenied
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
from .models import (
    AuditLogEntry,
    GoldGrantRequest,
    GrantRequestStatus,
    InviteCode,
    Item,
    LedgerEntry,
    ResponsiblePlay,
    User,
    Wallet,
)
from .selectors import login_name_is_taken, wallet_balance


def _staff(request: HttpRequest) -> User:
    """The staff member behind an admin request (admin views are for staff only)."""
    assert isinstance(request.user, User)
    return request.user


class UserActionFields(forms.Form):
    """The fields the user actions read from the admin action bar."""

    reason = forms.CharField(max_length=500, required=False, help_text="Required.")
    banned_until = forms.DateTimeField(
        required=False, help_text="Ban: ends at YYYY-MM-DD HH:MM; empty: until lifted."
    )
    level = forms.IntegerField(min_value=1, required=False)
    experience = forms.IntegerField(min_value=0, required=False, initial=0)


class UserActionForm(ActionForm, UserActionFields):
    """The admin action bar with the fields the user actions read."""


# Only a superuser changes who is staff, a superuser, or what a staff member may do.
SUPERUSER_ONLY_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")
BAN_FIELDS = ("is_active", "banned_until")


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
    # Every way an account is made asks for the birth date and applies the age gate (0171).
    birth_date = forms.DateField(
        required=True, help_text="YYYY-MM-DD. Players must be at least PLAYER_MINIMUM_AGE."
    )

    def clean_birth_date(self) -> Any:
        birth_date = self.cleaned_data["birth_date"]
        try:
            services.age_gate_check(birth_date)
        except ApplicationError as error:
            raise forms.ValidationError(error.message, code=error.code) from error
        return birth_date


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = UserAdminCreationForm
    ordering = ["-date_joined"]
    list_display = [
        "site_id", "nickname", "rank", "level", "is_active", "is_staff", "date_joined",
        "player_page",
    ]  # fmt: skip
    list_filter = ["rank", "is_active", "is_staff", "date_joined"]
    search_fields = ["site_id", "nickname", "phone_number"]
    # Level and experience change only through the audited "Set level" action (no level-up gold).
    readonly_fields = [
        "last_login", "date_joined", "token_version", "invite_code", "level", "experience",
    ]  # fmt: skip
    actions = ["ban_users", "unban_users", "set_progression"]
    action_form = UserActionForm
    change_list_template = "admin/accounts/user/change_list.html"
    fieldsets = (
        (None, {"fields": ("site_id", "password")}),
        ("Profile", {"fields": ("nickname", "phone_number", "invite_code")}),
        ("Progress", {"fields": ("rank", "vip_points", "level", "experience")}),
        ("Permissions", {"fields": ("is_active", "banned_until", *SUPERUSER_ONLY_FIELDS)}),
        ("Dates", {"fields": ("last_login", "date_joined", "token_version")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "site_id",
                    "nickname",
                    "phone_number",
                    "birth_date",
                    "password1",
                    "password2",
                ),
            },
        ),
    )

    @admin.display(description="Player page")
    def player_page(self, user: User) -> str:
        return format_html('<a href="{}">Open</a>', reverse("admin:player_page", args=[user.pk]))

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

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Only a superuser changes a superuser (a password change included)."""
        if obj is not None and obj.is_superuser and not _staff(request).is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not _staff(request).is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def has_ban_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.ban_user")

    def has_change_progression_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.change_progression")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if not _staff(request).is_superuser:
            fields += SUPERUSER_ONLY_FIELDS
        if not self.has_ban_permission(request):
            fields += BAN_FIELDS
        return fields

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """Save; the audit row is written once the groups and permissions are saved too."""
        form.audited_before = services.user_audited_state(obj.pk) if change else None
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Audit what the form changed, before and after (changeform_view's transaction)."""
        super().save_related(request, form, formsets, change)
        try:
            services.staff_user_saved(
                actor=_staff(request), user=form.instance, before=form.audited_before
            )
        except ApplicationError as error:  # the form offers none of these; refuse forged posts
            raise PermissionDenied(error.message) from error

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        with transaction.atomic():
            services.staff_objects_deleted(
                actor=_staff(request), action="user_delete", targets=[str(obj)]
            )
            super().delete_model(request, obj)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """Django's password form for a user; a reset also revokes every token and page session
        of that user and is audited (``user_password_reset``, no hash), in the same transaction."""
        try:
            user_id = int(unquote(id))
        except ValueError:
            user_id = None
        if request.method != "POST" or user_id is None:
            return super().user_change_password(request, id, form_url)
        with transaction.atomic():
            before = (
                User.objects.select_for_update()
                .filter(pk=user_id)
                .values_list("password", flat=True)
                .first()
            )
            response = super().user_change_password(request, id, form_url)
            user = User.objects.filter(pk=user_id).first()
            if before is not None and user is not None and user.password != before:
                services.staff_password_reset_recorded(actor=_staff(request), user=user)
                if user.pk == request.user.pk:  # staff resetting their own: keep this session
                    update_session_auth_hash(request, user)
        return response

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
            "columns": "site_id,nickname,phone_number,password,birth_date[,rank]",
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
        """Grant or revoke gold through the ledger, with a reason; audited. Above the staff limit
        it files a grant request for another staff member to approve."""
        if not request.user.has_perm("accounts.grant_gold"):
            return HttpResponse(status=403)
        player = User.objects.filter(pk=user_id).first()
        if player is None:
            return HttpResponse(status=404)
        initial = {"request_id": secrets.token_hex(16)}
        form = GoldAdjustForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                result = services.staff_gold_adjust(
                    actor=_staff(request),
                    user_id=player.pk,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    idempotency_key=f"admin:{form.cleaned_data['request_id']}",
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                if isinstance(result, GoldGrantRequest):
                    self.message_user(
                        request,
                        f"Above the limit of {services.staff_grant_limit()} gold: grant request "
                        f"#{result.pk} waits for another staff member's approval.",
                        messages.WARNING,
                    )
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

    def _action_form(self, request: HttpRequest) -> UserActionFields | None:
        """The action bar's fields, or None (with a message) when the reason is missing."""
        form = UserActionFields(request.POST)
        if not form.is_valid() or not form.cleaned_data["reason"].strip():
            self.message_user(
                request, "Give a reason (and valid values) above the list.", messages.ERROR
            )
            return None
        return form

    def _set_active(self, request: HttpRequest, queryset: QuerySet[User], is_active: bool) -> None:
        form = self._action_form(request)
        if form is None:
            return
        done = 0
        for user in queryset.exclude(pk=request.user.pk or 0).order_by("pk"):
            try:
                services.user_set_active(
                    user,
                    is_active=is_active,
                    actor=_staff(request),
                    reason=form.cleaned_data["reason"].strip(),
                    banned_until=form.cleaned_data["banned_until"],
                )
            except ApplicationError as error:
                self.message_user(request, f"{user}: {error.message}", messages.ERROR)
            else:
                done += 1
        verb = "unbanned" if is_active else "banned"
        self.message_user(request, f"{done} user(s) {verb}.", messages.SUCCESS)

    @admin.action(
        description="Ban selected users (reason and optional end above; revokes their sessions)",
        permissions=["ban"],
    )
    def ban_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_active(request, queryset, is_active=False)

    @admin.action(description="Unban selected users (reason above)", permissions=["ban"])
    def unban_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_active(request, queryset, is_active=True)

    @admin.action(
        description="Set level and experience (above; audited, pays no level-up gold)",
        permissions=["change_progression"],
    )
    def set_progression(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        form = self._action_form(request)
        if form is None:
            return
        if form.cleaned_data["level"] is None:
            self.message_user(request, "Give the level to set.", messages.ERROR)
            return
        for user in queryset.order_by("pk"):
            try:
                services.user_progression_set(
                    actor=_staff(request),
                    user_id=user.pk,
                    level=form.cleaned_data["level"],
                    experience=form.cleaned_data["experience"] or 0,
                    reason=form.cleaned_data["reason"],
                )
            except ApplicationError as error:
                self.message_user(request, f"{user}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{user}: level set.", messages.SUCCESS)


class UserImportForm(forms.Form):
    file = forms.FileField(
        help_text="UTF-8 CSV, header site_id,nickname,phone_number,password,birth_date[,rank]."
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


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin[Item]):
    """What players see an item code called, in English and Korean. Every save is audited."""

    list_display = ["code", "name", "name_ko"]
    search_fields = ["code", "name", "name_ko"]

    def get_readonly_fields(self, request: HttpRequest, obj: Item | None = None) -> Any:
        return ["code"] if obj is not None else []  # inventories and configs refer to the code

    def save_model(self, request: HttpRequest, obj: Item, form: Any, change: bool) -> None:
        fields = ["code", "name", "name_ko", "description", "description_ko"]
        with transaction.atomic():
            before = Item.objects.filter(pk=obj.pk).values(*fields).first() if change else None
            super().save_model(request, obj, form, change)
            services.audit_log_record(
                actor=_staff(request),
                action=f"item_{'change' if change else 'create'}",
                target=f"item:{obj.code}",
                before=before,
                after={field: getattr(obj, field) for field in fields},
            )


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

    @admin.action(description="Deactivate selected codes", permissions=["change"])
    def deactivate_codes(self, request: HttpRequest, queryset: QuerySet[InviteCode]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        services.invite_codes_set_active(actor=_staff(request), code_ids=ids, is_active=False)

    @admin.action(description="Activate selected codes", permissions=["change"])
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
    # A row reads "user — delta — balance after — reason" (not the wallet's balance today).
    list_display = ["id", "player", "delta", "balance_after", "reason", "reference", "created_at"]
    list_filter = ["reason", "created_at"]
    search_fields = ["wallet__user__site_id", "wallet__user__nickname", "reference"]
    list_select_related = ["wallet__user"]

    @admin.display(description="user", ordering="wallet__user__site_id")
    def player(self, entry: LedgerEntry) -> str:
        url = reverse("admin:player_page", args=[entry.wallet_id])
        return format_html('<a href="{}">{}</a>', url, entry.wallet.user)


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    list_display = ["user", "balance", "updated_at", "adjust_link"]
    search_fields = ["user__site_id", "user__nickname"]
    list_select_related = ["user"]

    @admin.display(description="Adjust")
    def adjust_link(self, wallet: Wallet) -> str:
        url = reverse("admin:accounts_user_gold", args=[wallet.user_id])
        return format_html('<a href="{}">Grant / revoke gold</a>', url)


class GrantDecisionForm(ActionForm):
    reason = forms.CharField(max_length=500, required=False, help_text="Required to reject.")


@admin.register(GoldGrantRequest)
class GoldGrantRequestAdmin(ReadOnlyAdmin):
    """Grants above the staff limit, filed from the gold form or API; decided here by a second
    staff member (never the requester)."""

    list_display = [
        "id", "user", "amount", "status", "requested_by", "decided_by", "created_at", "reason",
    ]  # fmt: skip
    list_filter = ["status", "created_at"]
    search_fields = ["user__site_id", "user__nickname", "reason"]
    list_select_related = ["user", "requested_by", "decided_by"]
    action_form = GrantDecisionForm
    actions = ["approve_requests", "reject_requests"]

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.approve_grant")

    @admin.action(description="Approve selected requests (moves the gold)", permissions=["approve"])
    def approve_requests(self, request: HttpRequest, queryset: QuerySet[GoldGrantRequest]) -> None:
        for grant in queryset.filter(status=GrantRequestStatus.PENDING).order_by("pk"):
            try:
                services.gold_grant_request_approve(actor=_staff(request), request_id=grant.pk)
            except ApplicationError as error:
                self.message_user(request, f"Request #{grant.pk}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"Request #{grant.pk} approved.", messages.SUCCESS)

    @admin.action(description="Reject selected requests (reason above)", permissions=["approve"])
    def reject_requests(self, request: HttpRequest, queryset: QuerySet[GoldGrantRequest]) -> None:
        reason = request.POST.get("reason", "").strip()
        if not reason:
            self.message_user(request, "A rejection needs a reason.", messages.ERROR)
            return
        for grant in queryset.filter(status=GrantRequestStatus.PENDING).order_by("pk"):
            try:
                services.gold_grant_request_reject(
                    actor=_staff(request), request_id=grant.pk, reason=reason
                )
            except ApplicationError as error:
                self.message_user(request, f"Request #{grant.pk}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"Request #{grant.pk} rejected.", messages.SUCCESS)


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


# ---------------------------------------------------------------- cool-offs and self-exclusions
# Staff see who is cooling off or self-excluded and until when; with ``accounts.extend_block``
# they extend a running block (never shorten or lift it), audited (docs/decisions/0171).


class BlockExtendFields(forms.Form):
    blocked_until = forms.DateTimeField(
        required=False,
        help_text=f"New end, YYYY-MM-DD HH:MM in {settings.TIME_ZONE}; later than the current one.",
    )
    reason = forms.CharField(max_length=500, required=False, help_text="Required.")


class BlockExtendActionForm(ActionForm, BlockExtendFields):
    """The action bar with the new end and the reason."""


class BlockStateFilter(admin.SimpleListFilter):
    title = "block"
    parameter_name = "block"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("running", "Running"), ("ended", "Ended")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "running":
            return queryset.filter(blocked_until__gt=timezone.now())
        if self.value() == "ended":
            return queryset.filter(blocked_until__lte=timezone.now())
        return queryset


@admin.register(ResponsiblePlay)
class ResponsiblePlayAdmin(ReadOnlyAdmin):
    """Players with a cool-off or self-exclusion (running or ended), newest end first."""

    list_display = ["user", "block_kind", "blocked_until", "is_running", "daily_limit"]
    list_filter = [BlockStateFilter, "block_kind"]
    list_select_related = ["user"]
    search_fields = ["user__site_id", "user__nickname"]
    ordering = ["-blocked_until"]
    actions = ["extend_blocks"]
    action_form = BlockExtendActionForm

    def get_queryset(self, request: HttpRequest) -> QuerySet[ResponsiblePlay]:
        return super().get_queryset(request).filter(blocked_until__isnull=False)

    @admin.display(boolean=True, description="running")
    def is_running(self, state: ResponsiblePlay) -> bool:
        return state.blocked_until is not None and state.blocked_until > timezone.now()

    @admin.display(description="daily purchase limit")
    def daily_limit(self, state: ResponsiblePlay) -> str:
        limit = state.daily_purchase_limit_cents
        return "—" if limit is None else f"{limit:,} (minor units)"

    def has_extend_block_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.extend_block")

    @admin.action(
        description="Extend the selected blocks to the end above (reason required; never shorter)",
        permissions=["extend_block"],
    )
    def extend_blocks(self, request: HttpRequest, queryset: QuerySet[ResponsiblePlay]) -> None:
        form = BlockExtendFields(request.POST)
        if (
            not form.is_valid()
            or form.cleaned_data["blocked_until"] is None
            or not form.cleaned_data["reason"].strip()
        ):
            self.message_user(
                request, "Give the new end and a reason above the list.", messages.ERROR
            )
            return
        for state in queryset.select_related("user").order_by("pk"):
            try:
                services.staff_block_extend(
                    actor=_staff(request),
                    user_id=state.user_id,
                    until=form.cleaned_data["blocked_until"],
                    reason=form.cleaned_data["reason"],
                )
            except ApplicationError as error:
                self.message_user(request, f"{state.user}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{state.user}: block extended.", messages.SUCCESS)
