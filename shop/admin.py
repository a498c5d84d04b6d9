from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from accounts.models import Rank
from casinoclub.admin import AuditedAdmin
from casinoclub.errors import ApplicationError
from casinoclub.money import (
    currency_choices,
    format_money,
    major_to_minor,
    minor_to_major,
)
from shop import economy, services
from shop.models import (
    LimitedPackage,
    Product,
    PromoCode,
    ProviderRefundState,
    Purchase,
    PurchaseStatus,
    ReversalKind,
    ReviewReason,
)

# ---------------------------------------------------------------- money in the currency's unit
# ``price_cents`` holds minor units of ``currency`` (casinoclub/money.py). Staff type the price in
# the currency's major unit ("1200" KRW, "12.99" USD) and pick the currency from SHOP_CURRENCIES;
# list columns show "1,200 KRW" (docs/decisions/0172).


class MajorUnitPriceForm(forms.ModelForm):  # any model with price_cents and currency
    """A model form whose ``price_cents`` is entered as ``price`` in the currency's major unit."""

    price = forms.DecimalField(
        min_value=Decimal("0.001"),
        max_digits=15,
        decimal_places=3,
        required=False,
        help_text=(
            "In the currency's own unit: 1200 for 1,200 KRW (whole won, no minor unit), "
            "12.99 for 12.99 USD. Stored in minor units."
        ),
    )
    currency = forms.ChoiceField(choices=currency_choices)
    price_required = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["price"].required = self.price_required
        instance = self.instance
        if instance.pk is not None and instance.price_cents is not None:
            self.initial["price"] = minor_to_major(instance.price_cents, instance.currency)
        if instance.pk is not None and instance.currency not in dict(currency_choices()):
            # A currency no longer offered stays selectable on its own rows.
            self.fields["currency"].choices = [  # type: ignore[attr-defined]  # a ChoiceField
                *currency_choices(),
                (instance.currency, instance.currency),
            ]
        # The price sits next to its currency.
        order = [name for name in self.fields if name != "price"]
        order.insert(order.index("currency"), "price")
        self.fields = {name: self.fields[name] for name in order}

    def clean(self) -> dict[str, Any]:
        """Convert ``price`` to minor units of ``currency`` into the instance's ``price_cents``
        (which the form excludes, so the model validation that follows sees the new value)."""
        cleaned = super().clean() or {}
        price, currency = cleaned.get("price"), cleaned.get("currency")
        if price is None or not currency:
            self.instance.price_cents = None
            return cleaned
        try:
            self.instance.price_cents = major_to_minor(price, currency)
        except ValueError as error:
            self.add_error("price", str(error))
        return cleaned


class ProductAdminForm(MajorUnitPriceForm):
    """The product form (the admin supplies the model; ``price_cents`` is excluded there)."""

    price_required = False  # items are priced in gold (``price_gold``)


class LimitedPackageAdminForm(MajorUnitPriceForm):
    """The limited package form (the admin supplies the model and excludes ``price_cents``)."""


def _money_column(obj: Any) -> str:
    return format_money(obj.price_cents, obj.currency)


def _whole(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


class DiscountForm(forms.Form):
    discount_percent = forms.IntegerField(min_value=0, max_value=90)
    discount_starts_at = forms.DateTimeField(
        required=False, help_text=f"YYYY-MM-DD HH:MM, {settings.TIME_ZONE}; empty: now"
    )
    discount_ends_at = forms.DateTimeField(
        required=False, help_text=f"YYYY-MM-DD HH:MM, {settings.TIME_ZONE}"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("discount_starts_at"), data.get("discount_ends_at")
        if starts and ends and ends <= starts:
            raise forms.ValidationError("The discount must end after it starts.")
        return data


class ProductActionForm(ActionForm, DiscountForm):
    """The admin action bar with the fields the actions below read."""

    discount_percent = forms.IntegerField(min_value=0, max_value=90, required=False)
    min_rank = forms.ChoiceField(choices=[("", "---"), *Rank.choices], required=False)


@admin.register(Product)
class ProductAdmin(AuditedAdmin):
    """Products are deactivated, never deleted once sold: past purchases keep pointing at them
    (the policy); "Delete selected" is not offered and a sold product has no delete button."""

    form = ProductAdminForm
    exclude = ["price_cents"]
    list_display = [
        "code", "name", "kind", "price", "gold_price", "gold", "discount_percent",
        "discount_starts_at", "discount_ends_at", "min_rank", "is_active", "display_order",
    ]  # fmt: skip
    list_filter = ["kind", "is_active", "min_rank"]
    search_fields = ["code", "name", "name_ko"]
    action_form = ProductActionForm
    actions = ["set_discount", "set_rank", "activate", "deactivate"]

    @admin.display(description="price", ordering="price_cents")
    def price(self, product: Product) -> str:
        return _money_column(product)

    @admin.display(description="gold price", ordering="price_gold")
    def gold_price(self, product: Product) -> str:
        return _whole(product.price_gold)

    @admin.display(description="gold", ordering="gold_amount")
    def gold(self, product: Product) -> str:
        return _whole(product.gold_amount)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deactivate instead
        return actions

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and Purchase.objects.filter(product=obj).exists():
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(
        description="Set the discount (percent, start and end above)", permissions=["change"]
    )
    def set_discount(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        form = DiscountForm(request.POST)
        if not form.is_valid():
            self.message_user(
                request,
                "Give a discount between 0 and 90 that ends after it starts.",
                messages.ERROR,
            )
            return
        self._audit_bulk(
            request,
            queryset,
            "product_discount",
            discount_percent=form.cleaned_data["discount_percent"],
            discount_starts_at=form.cleaned_data["discount_starts_at"],
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


STOCK_FIELDS = ("total_stock", "remaining_stock")


class StockActionForm(ActionForm):
    """The action bar of limited packages: units to add (or remove, negative) and why."""

    units = forms.IntegerField(required=False, help_text="Units to add; negative removes.")
    reason = forms.CharField(max_length=500, required=False)


@admin.register(LimitedPackage)
class LimitedPackageAdmin(AuditedAdmin):
    """Stock is never written by the change form: buyers take units while a page is open, so the
    form's copy is stale. A new package starts with all its units; later changes go through the
    "Add or remove units" action (``shop.change_stock``), under the row lock."""

    form = LimitedPackageAdminForm
    exclude = ["price_cents"]
    list_display = ["code", "name", "starts_at", "ends_at", "remaining_stock", "total_stock",
                    "per_user_limit", "price", "min_rank", "is_active"]  # fmt: skip
    list_filter = ["is_active", "min_rank"]
    search_fields = ["code", "name", "name_ko"]
    action_form = StockActionForm
    actions = ["adjust_stock"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return STOCK_FIELDS if obj is not None else ("remaining_stock",)

    @admin.display(description="price", ordering="price_cents")
    def price(self, package: LimitedPackage) -> str:
        return _money_column(package)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deactivate instead
        return actions

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and Purchase.objects.filter(package=obj).exists():
            return False
        return super().has_delete_permission(request, obj)

    def save_object(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.remaining_stock = obj.total_stock
            obj.save()
            return
        # The form's model fields, and price_cents which the form's ``price`` sets.
        columns = {field.name for field in obj._meta.concrete_fields} - set(STOCK_FIELDS)
        fields = [name for name in [*form.fields, "price_cents"] if name in columns]
        obj.save(update_fields=fields)
        obj.refresh_from_db(fields=list(STOCK_FIELDS))

    def has_adjust_stock_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("shop.change_stock")

    @admin.action(
        description="Add or remove units (units and reason above)", permissions=["adjust_stock"]
    )
    def adjust_stock(self, request: HttpRequest, queryset: QuerySet[LimitedPackage]) -> None:
        field = forms.IntegerField(min_value=-1_000_000, max_value=1_000_000)
        try:
            units = field.clean(request.POST.get("units", ""))
        except forms.ValidationError:
            units = 0
        reason = request.POST.get("reason", "").strip()[:500]
        if not units or not reason:
            self.message_user(
                request, "Give a number of units (not 0) and a reason.", messages.ERROR
            )
            return
        for package in queryset.order_by("pk"):
            try:
                changed = services.limited_package_stock_adjust(
                    package.pk,
                    units,
                    actor=request.user,  # type: ignore[arg-type]  # staff only reach admin
                    reason=reason,
                )
            except ApplicationError as error:
                self.message_user(request, f"{package.code}: {error.message}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"{changed.code}: {changed.remaining_stock} of {changed.total_stock} left.",
                messages.SUCCESS,
            )


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


class ReviewReasonFilter(admin.SimpleListFilter):
    """Purchases flagged for one review reason (``review_reasons`` holds a list of codes)."""

    title = "review reason"
    parameter_name = "review_reason"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(value), str(label)) for value, label in ReviewReason.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value not in ReviewReason.values:
            return queryset
        return queryset.filter(review_reasons__contains=[value])


@admin.register(Purchase)
class PurchaseAdmin(admin.ModelAdmin[Purchase]):
    list_display = ["receipt", "user", "flow", "status", "price", "gold_price", "gold_credited",
                    "needs_review", "review_reasons", "created_at", "settled_at", "refunded_at",
                    "reversal_kind", "provider_refund_state"]  # fmt: skip
    list_filter = ["status", "flow", "needs_review", ReviewReasonFilter, "reversal_kind",
                   "provider_refund_state", "gateway", "created_at"]  # fmt: skip
    search_fields = ["receipt", "user__site_id", "user__nickname", "gateway_ref"]
    list_select_related = ["user"]
    action_form = RefundActionForm
    actions = ["refund"]

    change_list_template = "admin/shop/purchase/change_list.html"

    @admin.display(description="price", ordering="price_cents")
    def price(self, purchase: Purchase) -> str:
        return _money_column(purchase) if purchase.price_cents else ""

    @admin.display(description="gold price", ordering="price_gold")
    def gold_price(self, purchase: Purchase) -> str:
        return _whole(purchase.price_gold) if purchase.price_gold else ""

    @admin.display(description="gold", ordering="gold")
    def gold_credited(self, purchase: Purchase) -> str:
        return _whole(purchase.gold)

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

    @admin.action(
        description="Refund (takes back gold, items, VIP points and progress; reason above)",
        permissions=["refund"],
    )
    def refund(self, request: HttpRequest, queryset: QuerySet[Purchase]) -> None:
        reason = request.POST.get("reason", "").strip()
        if not reason:
            self.message_user(request, "A refund needs a reason.", messages.ERROR)
            return
        owed = Q(
            status=PurchaseStatus.REFUNDED, provider_refund_state=ProviderRefundState.REQUESTED
        )
        for purchase in queryset.filter(Q(status=PurchaseStatus.SUCCESS) | owed).order_by("pk"):
            try:
                refunded = services.purchase_refund(
                    purchase.pk,
                    actor=request.user,  # type: ignore[arg-type]  # staff only reach admin
                    reason=reason,
                )
            except ApplicationError as error:
                self.message_user(request, f"{purchase.receipt}: {error.message}", messages.ERROR)
                continue
            reasons = ", ".join(refunded.review_reasons)
            note = f" (flagged for review: {reasons})" if refunded.needs_review else ""
            if purchase.status == PurchaseStatus.REFUNDED:
                text = f"Asked the provider again to refund {purchase.receipt}."
            elif refunded.reversal_kind == ReversalKind.DISPUTE:
                text = f"{purchase.receipt} was charged back meanwhile{note}."
            else:
                text = f"Refunded {purchase.receipt}{note}."
            self.message_user(request, text, messages.SUCCESS)
