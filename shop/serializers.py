from rest_framework import serializers

from casinoclub.serializers import StrictSerializer


class BuyInputSerializer(StrictSerializer):
    product_code = serializers.SlugField(max_length=64)


class BuyLimitedInputSerializer(StrictSerializer):
    package_code = serializers.SlugField(max_length=64)
    promo_code = serializers.CharField(max_length=32, required=False, allow_blank=False)


class PurchaseSerializer(serializers.Serializer):
    receipt = serializers.CharField()
    flow = serializers.CharField()
    status = serializers.CharField()
    product = serializers.CharField(allow_null=True)
    package = serializers.CharField(allow_null=True)
    price = serializers.IntegerField()
    currency = serializers.CharField()
    discount = serializers.IntegerField()
    gold = serializers.IntegerField()
    items = serializers.JSONField()
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
