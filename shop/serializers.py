from rest_framework import serializers

from casinoclub.serializers import StrictSerializer


class BuyInputSerializer(StrictSerializer):
    product_code = serializers.SlugField(max_length=64)


class BuyLimitedInputSerializer(StrictSerializer):
    package_code = serializers.SlugField(max_length=64)
    promo_code = serializers.CharField(max_length=32, required=False, allow_blank=False)


class PackageItemSerializer(serializers.Serializer):
    item_code = serializers.CharField()
    quantity = serializers.IntegerField()


class PurchaseSerializer(serializers.Serializer):
    receipt = serializers.CharField()
    flow = serializers.CharField()
    status = serializers.CharField()
    name = serializers.CharField(
        allow_null=True, help_text="The product's or package's name, as pages show it."
    )
    product = serializers.CharField(allow_null=True)
    package = serializers.CharField(allow_null=True)
    price = serializers.IntegerField()
    currency = serializers.CharField()
    discount = serializers.IntegerField()
    gold = serializers.IntegerField()
    items = PackageItemSerializer(many=True)
    failure_reason = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    settled_at = serializers.DateTimeField(allow_null=True)
    signature = serializers.CharField()


class BuyResultSerializer(serializers.Serializer):
    purchase = PurchaseSerializer()
    balance = serializers.IntegerField()
    checkout_url = serializers.URLField(
        allow_null=True, help_text="The provider's payment page to send the player to, if any."
    )


class WebhookResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["processed", "duplicate", "ignored", "review"])


class ProductSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["gold_pack", "item"])
    gold_amount = serializers.IntegerField()
    item_code = serializers.CharField(allow_null=True)
    currency = serializers.CharField(help_text="GOLD for items bought with gold.")
    base_price = serializers.IntegerField()
    price = serializers.IntegerField()
    discount_percent = serializers.IntegerField()
    discount_ends_at = serializers.DateTimeField(allow_null=True)
    min_rank = serializers.CharField()
    can_buy = serializers.BooleanField()


class CatalogSerializer(serializers.Serializer):
    products = ProductSerializer(many=True)


class LimitedPackageSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    on_sale = serializers.BooleanField()
    price = serializers.IntegerField()
    currency = serializers.CharField()
    gold_amount = serializers.IntegerField()
    items = PackageItemSerializer(many=True)
    total_stock = serializers.IntegerField()
    remaining_stock = serializers.IntegerField()
    per_user_limit = serializers.IntegerField()
    remaining_allowance = serializers.IntegerField()
    min_rank = serializers.CharField()
    can_buy = serializers.BooleanField()


class LimitedPackagesSerializer(serializers.Serializer):
    packages = LimitedPackageSerializer(many=True)


class EconomyAlertSerializer(serializers.Serializer):
    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=["critical", "warning"])
    value = serializers.FloatField()


class CurrencyRevenueSerializer(serializers.Serializer):
    currency = serializers.CharField(help_text="ISO 4217 code.")
    total_revenue = serializers.IntegerField(help_text="Minor units of this currency.")
    today_revenue = serializers.IntegerField(
        help_text="Sales settled today minus refunds made today, minor units of this currency."
    )


class AdminStatsSerializer(serializers.Serializer):
    online_users = serializers.IntegerField()
    total_revenue = serializers.IntegerField(
        help_text="Minor units added across currencies: see revenue_by_currency."
    )
    today_revenue = serializers.IntegerField(
        help_text="Minor units added across currencies: see revenue_by_currency."
    )
    revenue_by_currency = CurrencyRevenueSerializer(many=True)
    pending_purchases = serializers.IntegerField()
    critical_alerts = EconomyAlertSerializer(many=True)
    generated_at = serializers.DateTimeField()


class SimulatedPaymentEventSerializer(serializers.Serializer):
    """The simulated gateway's signed event (the body the signature covers)."""

    event_id = serializers.CharField()
    type = serializers.ChoiceField(choices=["payment.succeeded", "payment.failed"])
    receipt = serializers.CharField()
    amount = serializers.IntegerField(required=False, help_text="Cents charged.")
    currency = serializers.CharField(required=False)
    reason = serializers.CharField(required=False, help_text="Why a payment failed.")


class StripeEventDataSerializer(serializers.Serializer):
    object = serializers.DictField(help_text="The Stripe object the event is about.")


class StripeEventSerializer(serializers.Serializer):
    """A Stripe event as Stripe signs it; only these fields are read."""

    id = serializers.CharField()
    type = serializers.CharField()
    # DRF's metaclass moves declared fields out of the class, so "data" does not shadow .data.
    data = StripeEventDataSerializer()  # type: ignore[assignment]
