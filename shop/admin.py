from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.forms.models import model_to_dict
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from accounts.models import Rank
from accounts.services import audit_log_record
from casinoclub.errors import ApplicationError
from shop import economy, services
from shop.models import LimitedPackage, Product, PromoCode, Purchase, PurchaseStatus


def _snapshot(obj: Any) -> dict[str, Any]:
    return {k: str(v) for k, v in model_to_dict(obj).items()}


class AuditedAdmin(admin.ModelAdmin[Any]):
    """Every save is written to the audit log with before/after."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = _snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        audit_log_record(
            actor=request.user,  # type: ignore[arg-type]  # staff only reach admin
            action=f"{obj._meta.model_name}_{'change' if change else 'create'}",
            target=f"{obj._meta.model_name}:{obj.pk} {obj}",
            before=before,
            after=_snapshot(obj),
        )

    def _audit_bulk(
        self, request: HttpRequest, queryset: QuerySet[Any], action: str, **changes: Any
    ) -> None:
        for obj in queryset:
            before = _snapshot(obj)
            for field, value in changes.items():
                setattr(obj, field, value)
            obj.save(update_fields=list(changes))
            audit_log_record(
                actor=request.user,  # type: ignore[arg-type]  # staff only reach admin
                action=action,
                target=f"{obj._meta.model_name}:{obj.pk} {obj}",
                before=before,
                after=_snapshot(obj),
            )


class DiscountForm(forms.Form):
    discount_percent = forms.IntegerField(min_value=0, max_value=90)
    discount_ends_at = forms.DateTimeField(required=False, help_text="YYYY-MM-DD HH:MM")


class ProductActionForm(ActionForm, DiscountForm):
    """The admin action bar with the fields the actions below read."""

    discount_percent = forms.IntegerField(min_value=0, max_value=90, required=False)
    min_rank = forms.ChoiceField(choices=[("", "---"), *Rank.choices], required=False)


@admin.register(Product)
class ProductAdmin(AuditedAdmin):
    list_display = [
        "code", "name", "kind", "price_cents", "price_gold", "gold_amount",
        "discount_percent", "discount_ends_at", "min_rank", "is_active", "display_order",
    ]  # fmt: skip
    list_filter = ["kind", "is_active", "min_rank"]
    search_fields = ["code", "name"]
    action_form = ProductActionForm
    actions = ["set_discount", "set_rank", "activate", "deactivate"]

    @admin.action(
        description="Set the discount (percent and end date above)", permissions=["change"]
    )
    def set_discount(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        form = DiscountForm(request.POST)
        if not form.is_valid():
            self.message_user(request, "Give a discount between 0 and 90.", messages.ERROR)
            return
        self._audit_bulk(
            request,
            queryset,
            "product_discount",
            discount_percent=form.cleaned_data["discount_percent"],
            discount_ends_at=form.cleaned_data["discount_ends_at"],
        )

    @admin.action(description="Set the minimum rank (chosen above)", permissions=["change"])
    def set_rank(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        rank = request.POST.get("min_rank", "")
        if rank not in Rank.values:
            self.message_user(request, "Choose a rank.", messages.ERROR)
            return
        self._audit_bulk(request, queryset, "product_rank", min_rank=rank)

    @admin.action(description="Activate", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        self._audit_bulk(request, queryset, "product_activate", is_active=True)

    @admin.action(description="Deactivate", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        self._audit_bulk(request, queryset, "product_deactivate", is_active=False)


@admin.register(LimitedPackage)
class LimitedPackageAdmin(AuditedAdmin):
    list_display = ["code", "name", "starts_at", "ends_at", "remaining_stock", "total_stock",
                    "per_user_limit", "price_cents", "min_rank", "is_active"]  # fmt: skip
    list_filter = ["is_active", "min_rank"]
    search_fields = ["code", "name"]


@admin.register(PromoCode)
class PromoCodeAdmin(AuditedAdmin):
    list_display = ["code", "kind", "value", "uses", "max_uses", "expires_at", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code"]
    readonly_fields = ["uses"]


class EconomyRangeForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and not timedelta(0) <= end - start <= timedelta(days=366):
            raise forms.ValidationError("Choose a range of at most 366 days, start before end.")
        return data


class RefundActionForm(ActionForm):
    reason = forms.CharField(max_length=500, required=False, help_text="Required for refunds.")


@admin.register(Purchase)
class PurchaseAdmin(admin.ModelAdmin[Purchase]):
    list_display = ["receipt", "user", "flow", "status", "price_cents", "price_gold", "gold",
                    "needs_review", "created_at", "settled_at"]  # fmt: skip
    list_filter = ["status", "flow", "needs_review", "created_at"]
    search_fields = ["receipt", "user__site_id", "user__nickname", "gateway_ref"]
    list_select_related = ["user"]
    action_form = RefundActionForm
    actions = ["refund"]

    change_list_template = "admin/shop/purchase/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        economy = path(
            "economy/",
            self.admin_site.admin_view(self.economy_view),
            name="shop_economy_dashboard",
        )
        return [economy, *super().get_urls()]

    def economy_view(self, request: HttpRequest) -> HttpResponse:
        """The economy dashboard: gold minted vs burned, revenue, players, pending, alerts."""
        if not request.user.has_perm("accounts.see_economy"):
            return HttpResponse(status=403)
        today = timezone.localdate()
        form = EconomyRangeForm(request.GET or {"start": today - timedelta(days=13), "end": today})
        start, end = today - timedelta(days=13), today
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        data = economy.economy_daily(start, end)
        reasons: dict[str, dict[str, int]] = {}
        for day in data["days"]:
            for reason, row in day["by_reason"].items():
                total = reasons.setdefault(reason, {"minted": 0, "burned": 0})
                total["minted"] += row["minted"]
                total["burned"] += row["burned"]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Economy dashboard",
            "form": form,
            "data": data,
            "reasons": dict(sorted(reasons.items())),
            "alerts": economy.economy_alerts(),
            "pending": Purchase.objects.filter(status=PurchaseStatus.PENDING).count(),
        }
        return TemplateResponse(request, "admin/economy_dashboard.html", context)

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("shop.change_purchase")

    @admin.action(description="Refund (takes the gold back; reason above)", permissions=["refund"])
    def refund(self, request: HttpRequest, queryset: QuerySet[Purchase]) -> None:
        reason = request.POST.get("reason", "").strip()
        if not reason:
            self.message_user(request, "A refund needs a reason.", messages.ERROR)
            return
        for purchase in queryset.filter(status=PurchaseStatus.SUCCESS):
            try:
                refunded = services.purchase_refund(
                    purchase.pk,
                    actor=request.user,  # type: ignore[arg-type]  # staff only reach admin
                    reason=reason,
                )
            except ApplicationError as error:
                self.message_user(request, f"{purchase.receipt}: {error.message}", messages.ERROR)
                continue
            note = " (flagged for review: balance too low)" if refunded.needs_review else ""
            self.message_user(request, f"Refunded {purchase.receipt}{note}.", messages.SUCCESS)
