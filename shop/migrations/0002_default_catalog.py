"""A starting catalog so a fresh install has something to sell; staff edit it in admin."""

from django.db import migrations

PRODUCTS = [
    # code, name, kind, gold_amount, item_code, price_cents, price_gold, min_rank, display_order
    ("gold-small", "Pouch of gold", "gold_pack", 5_000, "", 1_200, None, "STANDARD", 10),
    ("gold-medium", "Chest of gold", "gold_pack", 30_000, "", 5_900, None, "STANDARD", 20),
    ("gold-large", "Vault of gold", "gold_pack", 80_000, "", 12_900, None, "STANDARD", 30),
    ("gold-vip", "VIP treasury", "gold_pack", 250_000, "", 33_000, None, "VIP", 40),
    ("frame-silver", "Silver avatar frame", "item", 0, "frame_silver", None, 2_000, "STANDARD", 50),
    ("frame-gold", "Gold avatar frame", "item", 0, "frame_gold", None, 10_000, "PREMIUM", 60),
]


def create(apps, schema_editor):
    Product = apps.get_model("shop", "Product")
    for code, name, kind, gold, item, cents, gold_price, rank, order in PRODUCTS:
        Product.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "gold_amount": gold,
                "item_code": item,
                "price_cents": cents,
                "price_gold": gold_price,
                "min_rank": rank,
                "display_order": order,
            },
        )


def remove(apps, schema_editor):
    apps.get_model("shop", "Product").objects.filter(code__in=[p[0] for p in PRODUCTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    operations = [migrations.RunPython(create, remove)]
