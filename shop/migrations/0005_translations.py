"""Korean names next to the English ones; the starting catalog gets its Korean text."""

from django.db import migrations, models

PRODUCTS = [
    # code, (English name,), (Korean name,)
    ("gold-small", ("Pouch of gold",), ("골드 주머니",)),
    ("gold-medium", ("Chest of gold",), ("골드 상자",)),
    ("gold-large", ("Vault of gold",), ("골드 금고",)),
    ("gold-vip", ("VIP treasury",), ("VIP 보물 창고",)),
    ("frame-silver", ("Silver avatar frame",), ("실버 아바타 프레임",)),
    ("frame-gold", ("Gold avatar frame",), ("골드 아바타 프레임",)),
]

def fill(model, rows, key, fields):
    """Write each row's Korean text where it is still blank and the English is still the seeded
    one (a row staff renamed keeps a blank translation rather than a wrong one)."""
    for code, english, korean in rows:
        instance = model.objects.filter(**{key: code}).first()
        if instance is None:
            continue
        changed = []
        for field, source_text, target_text in zip(fields, english, korean):
            if getattr(instance, f"{field}_ko") == "" and getattr(instance, field) == source_text:
                setattr(instance, f"{field}_ko", target_text)
                changed.append(f"{field}_ko")
        if changed:
            instance.save(update_fields=changed)


def translate(apps, schema_editor):
    fill(apps.get_model("shop", "Product"), PRODUCTS, "code", ("name",))

class Migration(migrations.Migration):

    dependencies = [
        ('shop', '0004_purchase_providers'),
    ]

    operations = [
        migrations.AddField(
            model_name='limitedpackage',
            name='name_ko',
            field=models.CharField(blank=True, max_length=100, verbose_name='name (Korean)'),
        ),
        migrations.AddField(
            model_name='product',
            name='name_ko',
            field=models.CharField(blank=True, max_length=100, verbose_name='name (Korean)'),
        ),
        migrations.RunPython(translate, migrations.RunPython.noop),
    ]
