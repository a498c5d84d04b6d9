"""Admin pieces shared by every app, and the admin site with its staff sign-in.

The admin's login form signs staff in through ``accounts.services.staff_sign_in``: the players'
per-account lockout, the API's per-address ``login`` rate limit (the same counters), an audit row
per attempt and, with ``STAFF_REQUIRE_2FA``, an authenticator code or a recovery code. The site
then lets a staff member in only with a session that passed that second factor
(docs/decisions/0125-staff-sign-in.md).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.forms.models import model_to_dict
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import exceptions as account_exceptions
from accounts import services as account_services
from accounts.models import User
from accounts.permissions import user_is_second_factor_verified
from casinoclub.client_address import client_address
from casinoclub.throttling import ScopedRateThrottle

LOGIN_THROTTLE_SCOPE = "login"


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Records written only by services (ledger, claims, rounds, progress): visible and
    filterable in admin, never added, edited or deleted there."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def schedule_time_zone_note() -> str:
    """What every schedule form says about its times (docs/decisions/0182-live-ops-calendar.md)."""
    return f"Time zone: {settings.TIME_ZONE} (the schedule time zone, whatever your browser's)."


class ScheduleTimeZoneMixin:
    """Admin forms of scheduled content (events, seasons, packages, discounts, promo codes) state
    the schedule's time zone next to every date and time field."""

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]  # a ModelAdmin's
        if isinstance(db_field, models.DateTimeField) and field is not None:
            note = schedule_time_zone_note()
            field.help_text = f"{field.help_text} {note}" if field.help_text else note
        return field


def audit_snapshot(obj: Any) -> dict[str, str]:
    """A row's fields as text, for an audit row's before/after."""
    return {name: str(value) for name, value in model_to_dict(obj).items()}


class AuditedAdmin(ScheduleTimeZoneMixin, admin.ModelAdmin[Any]):
    """Configuration staff edit: every save and delete (inline rows included) is written to the
    audit log with before/after, as ``<model>_create`` / ``_change`` / ``_delete``."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = audit_snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        self.save_object(request, obj, form, change)
        self._audit(request, obj, "change" if change else "create", before, audit_snapshot(obj))

    def save_object(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """The write itself (``save_model`` wraps it in the audit)."""
        super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        before = audit_snapshot(obj)
        super().delete_model(request, obj)
        self._audit(request, obj, "delete", before, None)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        """ "Delete selected": one audit row per row deleted."""
        for obj in queryset:
            self.delete_model(request, obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Inline rows (a season's tiers) are audited one by one as well."""
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            deleted = audit_snapshot(obj)
            obj.delete()
            self._audit(request, obj, "delete", deleted, None)
        for obj in instances:
            previous = audit_snapshot(type(obj).objects.get(pk=obj.pk)) if obj.pk else None
            obj.save()
            verb = "change" if previous else "create"
            self._audit(request, obj, verb, previous, audit_snapshot(obj))
        formset.save_m2m()

    def _audit(
        self,
        request: HttpRequest,
        obj: Any,
        verb: str,
        before: dict[str, str] | None,
        after: dict[str, str] | None,
    ) -> None:
        account_services.audit_log_record(
            actor=request.user,  # type: ignore[arg-type]  # staff only reach admin
            action=f"{obj._meta.model_name}_{verb}",
            target=f"{obj._meta.model_name}:{obj.pk} {obj}",
            before=before,
            after=after,
        )

    def _audit_bulk(self, request: HttpRequest, queryset: Any, action: str, **changes: Any) -> None:
        """An admin action that sets ``changes`` on each selected row: one ``action`` row each."""
        for obj in queryset:
            before = audit_snapshot(obj)
            for field, value in changes.items():
                setattr(obj, field, value)
            obj.save(update_fields=list(changes))
            account_services.audit_log_record(
                actor=request.user,  # type: ignore[arg-type]  # staff only reach admin
                action=action,
                target=f"{obj._meta.model_name}:{obj.pk} {obj}",
                before=before,
                after=audit_snapshot(obj),
            )


class _AddressLoginThrottle(ScopedRateThrottle):
    """The API login's rate limit, keyed by the client's address even when the browser already
    carries a session (a player's or an unverified staff member's): the key is then the one
    ``/api/auth/login`` and ``/login/`` use, so the three share one budget per address."""

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def login_rate_limited(request: HttpRequest) -> bool:
    """Count one login attempt from this address; True when it is over the ``login`` rate."""
    throttle = _AddressLoginThrottle()
    view = SimpleNamespace(throttle_scope=LOGIN_THROTTLE_SCOPE)
    return not throttle.allow_request(request, view)  # type: ignore[arg-type]  # DRF reads .META and the view's scope


class StaffAuthenticationForm(AdminAuthenticationForm):
    """Site ID (or nickname), password and, with ``STAFF_REQUIRE_2FA``, a verification code."""

    otp_token = forms.CharField(
        label=_("Verification code"),
        help_text=_("The 6 digits of your authenticator app, or one of your recovery codes."),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "none"}),
    )

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": _("Please enter the correct site ID and password for a staff account."),
        "invalid_login_second_factor": _(
            "Please enter the correct site ID, password and verification code for a staff account."
        ),
        "second_factor_missing": _(
            "Enter the verification code from your authenticator app, or a recovery code."
        ),
        "rate_limited": _("Too many attempts from your network. Please wait a moment."),
    }

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.requires_second_factor = bool(settings.STAFF_REQUIRE_2FA)
        if not self.requires_second_factor:
            del self.fields["otp_token"]

    def clean(self) -> dict[str, Any]:
        identifier = (self.cleaned_data.get("username") or "").strip()
        password = self.cleaned_data.get("password") or ""
        second_factor = (
            self.cleaned_data.get("otp_token", "") if self.requires_second_factor else None
        )
        if not identifier or not password:
            return self.cleaned_data  # the empty field carries its own error
        if self.requires_second_factor and not (second_factor or "").strip():
            raise ValidationError(
                self.error_messages["second_factor_missing"], code="second_factor_missing"
            )
        assert self.request is not None  # the admin's LoginView always passes the request
        if login_rate_limited(self.request):
            raise ValidationError(self.error_messages["rate_limited"], code="rate_limited")
        try:
            signed_in = account_services.staff_sign_in(
                identifier=identifier,
                password=password,
                second_factor=second_factor,
                ip_address=client_address(self.request),
            )
        except account_exceptions.LoginLocked as error:
            minutes = int(error.extra.get("retry_after_minutes", 1))
            message = ngettext(
                "Too many failed logins. Try again in %(minutes)d minute.",
                "Too many failed logins. Try again in %(minutes)d minutes.",
                minutes,
            ) % {"minutes": minutes}
            raise ValidationError(message, code="login_locked") from error
        except account_exceptions.StaffSignInFailed as error:
            if self.requires_second_factor:
                raise ValidationError(
                    self.error_messages["invalid_login_second_factor"], code="invalid_login"
                ) from error
            raise ValidationError(
                self.error_messages["invalid_login"], code="invalid_login"
            ) from error
        user = signed_in.user
        user.backend = "django.contrib.auth.backends.ModelBackend"  # type: ignore[attr-defined]  # read by auth.login
        if signed_in.device is not None:
            # django_otp marks the session verified when auth.login sees this attribute.
            user.otp_device = signed_in.device  # type: ignore[attr-defined]  # read by django_otp
        self.user_cache = user
        return self.cleaned_data


class StaffAdminSite(admin.AdminSite):
    """The admin: staff only, and with ``STAFF_REQUIRE_2FA`` only in a session whose sign-in
    passed the second factor (a session opened at the players' ``/login/`` never did)."""

    login_form = StaffAuthenticationForm
    login_template = "admin/staff_login.html"

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        return not settings.STAFF_REQUIRE_2FA or user_is_second_factor_verified(request.user)

    def password_change(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        """Django's own password change, which also ends every other session and token of the
        staff member (as a player's change does) and is audited; this session stays signed in."""
        staff_id = request.user.pk
        if request.method != "POST" or staff_id is None:
            return super().password_change(request, extra_context)
        with transaction.atomic():
            before = (
                User.objects.select_for_update()
                .filter(pk=staff_id)
                .values_list("password", flat=True)
                .first()
            )
            response = super().password_change(request, extra_context)
            staff = User.objects.get(pk=staff_id)
            if before is not None and staff.password != before:
                account_services.staff_password_reset_recorded(actor=staff, user=staff)
                update_session_auth_hash(request, staff)
        return response
