"""Partial indexes over the purchase events, built without locking the log's writers."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction; a plain CREATE INDEX would hold
    # off every money transaction (each appends an event) while it reads the whole log
    atomic = False

    dependencies = [
        ("casinoclub", "0004_domain_event_created_brin"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="domainevent",
            index=models.Index(
                condition=models.Q(("type__in", ("purchase_succeeded", "purchase_reversed"))),
                fields=["user_id", "transaction_id", "id"],
                name="domainevent_purchase_user",
            ),
        ),
        AddIndexConcurrently(
            model_name="domainevent",
            index=models.Index(
                condition=models.Q(("type__in", ("purchase_succeeded", "purchase_reversed"))),
                fields=["created_at"],
                name="domainevent_purchase_time",
            ),
        ),
    ]
