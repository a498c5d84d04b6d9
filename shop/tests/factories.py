from datetime import timedelta

import factory
from django.utils import timezone

from shop.models import LimitedPackage, Product, PromoCode


class GoldPackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"pack-{n}")
    name = factory.Sequence(lambda n: f"Gold pack {n}")
    kind = "gold_pack"
    gold_amount = 5000
    price_cents = 4900


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"item-{n}")
    name = factory.Sequence(lambda n: f"Item {n}")
    kind = "item"
    item_code = factory.Sequence(lambda n: f"hat_{n}")
    price_gold = 300


class LimitedPackageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LimitedPackage

    code = factory.Sequence(lambda n: f"limited-{n}")
    name = factory.Sequence(lambda n: f"Limited {n}")
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    total_stock = 10
    remaining_stock = factory.SelfAttribute("total_stock")
    per_user_limit = 1
    price_cents = 9900
    gold_amount = 20000
    items = factory.LazyFunction(lambda: [{"item_code": "frame_gold", "quantity": 1}])


class PromoCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PromoCode

    code = factory.Sequence(lambda n: f"PROMO{n}")
    kind = "percent"
    value = 10
    max_uses = 100
