from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Rank


class ProductKind(models.TextChoices):
    GOLD_PACK = "gold_pack", "Gold pack (priced in money)"
    ITEM = "item", "Item (priced in gold)"


class Product(models.Model):
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    name_ko = models.CharField("name (Korean)", max_length=100, blank=True)
    kind = models.CharField(max_length=10, choices=ProductKind.choices)
    gold_amount = models.PositiveBigIntegerField(default=0, help_text="Gold a pack credits.")
    item_code = models.CharField(
        max_length=64, blank=True, help_text="Item an item product grants."
    )
    price_cents = models.PositiveIntegerField(
        null=True, blank=True, help_text="Packs: money price."
    )
    price_gold = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Items: gold price."
    )
    currency = models.CharField(max_length=3, default="KRW")
    discount_percent = models.PositiveSmallIntegerField(default=0)
    discount_starts_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty: the discount runs from when it is set."
    )
    discount_ends_at = models.DateTimeField(null=True, blank=True)
    min_rank = models.CharField(max_length=8, choices=Rank.choices, default=Rank.STANDARD)
    is_active = models.BooleanField(default=True)
    display_order = models.IntegerField(default=0)

    class Meta:
        ordering = ["display_order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(discount_percent__lte=90), name="product_discount_lte_90"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind="gold_pack", price_cents__gt=0, gold_amount__gt=0)
                    | models.Q(kind="item", price_gold__gt=0) & ~models.Q(item_code="")
                ),
                name="product_kind_fields",
            ),
            models.CheckConstraint(
                condition=models.Q(discount_starts_at__isnull=True)
                | models.Q(discount_ends_at__isnull=True)
                | models.Q(discount_ends_at__gt=models.F("discount_starts_at")),
                name="product_discount_ends_after_start",
                violation_error_message="The discount must end after it starts.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LimitedPackage(models.Model):
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    name_ko = models.CharField("name (Korean)", max_length=100, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    total_stock = models.PositiveIntegerField()
    remaining_stock = models.PositiveIntegerField()
    per_user_limit = models.PositiveIntegerField(default=1)
    price_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="KRW")
    gold_amount = models.PositiveBigIntegerField(default=0)
    items = models.JSONField(
        default=list, blank=True, help_text='[{"item_code": "...", "quantity": 1}]'
    )
    min_rank = models.CharField(max_length=8, choices=Rank.choices, default=Rank.STANDARD)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["starts_at"]
        permissions = [("change_stock", "Can add or remove units of a limited package")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(remaining_stock__lte=models.F("total_stock")),
                name="limited_package_stock_within_total",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="limited_package_window"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PromoKind(models.TextChoices):
    FLAT = "flat", "Flat amount off (in the price currency's minor unit: 1 KRW, 0.01 USD)"
    PERCENT = "percent", "Percent off"


class PromoCode(models.Model):
    code = models.CharField(max_length=32, unique=True)
    kind = models.CharField(max_length=8, choices=PromoKind.choices)
    value = models.PositiveIntegerField()
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    uses = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_uses__isnull=True)
                | models.Q(uses__lte=models.F("max_uses")),
                name="promo_uses_within_max",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="percent") | models.Q(value__lte=90),
                name="promo_percent_lte_90",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class PromoRedemption(models.Model):
    promo = models.ForeignKey(PromoCode, on_delete=models.CASCADE, related_name="redemptions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["promo", "user"], name="promo_once_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.promo_id} by {self.user_id}"


class PurchaseStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCESS = "success", "Success"
    FAILED = "failed", "Failed"
    REFUNDED = "refunded", "Refunded"


class ReversalKind(models.TextChoices):
    REFUND = "refund", "Refund"
    DISPUTE = "dispute", "Dispute (chargeback)"


class ReversalSource(models.TextChoices):
    STAFF = "staff", "Staff"
    PROVIDER = "provider", "Payment provider"


class ProviderRefundState(models.TextChoices):
    NONE = "", "Not asked"
    REQUESTED = "requested", "Requested"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class PurchaseFlow(models.TextChoices):
    GOLD_PACK = "gold_pack", "Gold pack"
    ITEM = "item", "Gold-priced item"
    LIMITED = "limited", "Limited package"


class ReviewReason(models.TextChoices):
    AMOUNT_MISMATCH = "amount_mismatch", "Paid amount or currency differs from the purchase"
    LATE_PAYMENT_CREDITED = "late_payment_credited", "Paid after it failed or expired; credited"
    LATE_PAYMENT_REFUNDED = "late_payment_refunded", "Paid after it expired, sold out; refunded"
    LATE_PAYMENT_REFUND_FAILED = "late_payment_refund_failed", "Paid late, sold out; refund failed"
    PARTIAL_REFUND = "partial_refund", "Partly refunded at the provider"
    GOLD_SHORTFALL = "gold_shortfall", "Reversed; the balance could not cover the gold"
    ITEMS_SHORTFALL = "items_shortfall", "Reversed; some items were already gone"
    MISSION_REWARD_CLAIMED = "mission_reward_claimed", "Reversed; a mission reward was claimed"
    EVENT_REWARD_CLAIMED = "event_reward_claimed", "Reversed; an event reward was claimed"
    BATTLE_PASS_PREMIUM_CLAIMED = (
        "battle_pass_premium_claimed",
        "Reversed; premium pass rewards were claimed",
    )
    PROVIDER_REFUND_FAILED = "provider_refund_failed", "The provider refused the refund"


class Purchase(models.Model):
    """One purchase. Its status changes only through ``shop.services.purchase_transition``."""

    receipt = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    flow = models.CharField(max_length=10, choices=PurchaseFlow.choices)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT)
    package = models.ForeignKey(LimitedPackage, null=True, blank=True, on_delete=models.PROTECT)
    status = models.CharField(max_length=10, choices=PurchaseStatus.choices)
    price_cents = models.PositiveIntegerField(default=0)
    discount_cents = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, default="KRW")
    price_gold = models.PositiveBigIntegerField(default=0)
    gold = models.PositiveBigIntegerField(default=0, help_text="Gold this purchase credits.")
    items = models.JSONField(default=list, blank=True)
    promo = models.ForeignKey(PromoCode, null=True, blank=True, on_delete=models.PROTECT)
    gateway = models.CharField(max_length=32, blank=True)
    gateway_ref = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=64, blank=True)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    needs_review = models.BooleanField(default=False)
    signature = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    settled_at = models.DateTimeField(null=True, blank=True, help_text="When the sale settled.")
    refunded_at = models.DateTimeField(
        null=True, blank=True, help_text="When the purchase was refunded or charged back."
    )
    reversal_kind = models.CharField(max_length=10, choices=ReversalKind.choices, blank=True)
    reversal_source = models.CharField(max_length=10, choices=ReversalSource.choices, blank=True)
    review_reasons = models.JSONField(
        default=list, blank=True, help_text="Why the purchase needs review (codes)."
    )
    provider_refund_state = models.CharField(
        max_length=10, choices=ProviderRefundState.choices, blank=True
    )
    provider_refund_ref = models.CharField(max_length=64, blank=True)

    # Not stored: the wallet's balance right after this request credited the purchase, when the
    # service knows it (the response shows it without reading the wallet again).
    balance_after: int | None = None

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["user", "-id"], name="purchase_user_idx"),
            models.Index(
                fields=["status", "created_at"],
                name="purchase_pending_idx",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["package", "user", "status"], name="purchase_package_user_idx"),
            models.Index(
                fields=["refunded_at"],
                name="purchase_refunded_idx",
                condition=models.Q(refunded_at__isnull=False),
            ),
            models.Index(fields=["gateway_ref"], name="purchase_gateway_ref_idx"),
        ]

    def __str__(self) -> str:
        return self.receipt


class WebhookEvent(models.Model):
    """A payment-provider event, stored once: its id and its nonce are each accepted only once."""

    event_id = models.CharField(max_length=64, unique=True)
    nonce = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=64)
    purchase = models.ForeignKey(Purchase, null=True, on_delete=models.PROTECT, related_name="+")
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.event_id
