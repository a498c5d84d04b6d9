from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("liveops", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="PlayerLogTotals",
            fields=[
                ("user_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("last_event_at", models.DateTimeField(blank=True, null=True)),
                ("streak_first_day", models.DateField(blank=True, null=True)),
                ("streak_last_day", models.DateField(blank=True, null=True)),
                ("purchase_count", models.PositiveIntegerField(default=0)),
                ("lifetime_value_cents", models.BigIntegerField(default=0)),
                ("first_purchase_at", models.DateTimeField(blank=True, null=True)),
                ("last_purchase_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "verbose_name": "player log totals",
                "verbose_name_plural": "player log totals",
            },
        ),
    ]
