"""Seed the demo accounts: staff ``admin`` and players ``user001``–``user004``. Idempotent.

Refused under the production settings: it creates a superuser with a published password and
credits gold out of nothing.
"""

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import LedgerReason, User
from accounts.services import wallet_credit, wallet_open

DEMO_GOLD = 100_000

DEMO_PLAYERS = [
    ("user001", "Player001", "01000000001"),
    ("user002", "Player002", "01000000002"),
    ("user003", "Player003", "01000000003"),
    ("user004", "Player004", "01000000004"),
]


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--password",
            default=os.environ.get("DEMO_PASSWORD", "casino1234"),
            help="Password of every demo account (default: $DEMO_PASSWORD or casino1234).",
        )

    def handle(self, *args: Any, password: str, **options: Any) -> None:
        if settings.ENVIRONMENT == "production":
            raise CommandError(
                "seed_demo does not run in production: it creates a staff account with a "
                "published password and grants gold."
            )
        with transaction.atomic():
            if not User.objects.filter(site_id="admin").exists():
                User.objects.create_superuser("admin", "Admin", "01000000000", password)
                self.stdout.write("created staff account admin")
            for site_id, nickname, phone in DEMO_PLAYERS:
                user = User.objects.filter(site_id=site_id).first()
                if user is None:
                    user = User.objects.create_user(site_id, nickname, phone, password)
                    self.stdout.write(f"created player {site_id}")
                wallet_open(user)
                wallet_credit(
                    user.pk,
                    DEMO_GOLD,
                    reason=LedgerReason.STAFF_GRANT,
                    reference="seed_demo",
                    idempotency_key="seed_demo",
                )
        self.stdout.write(self.style.SUCCESS("demo data ready"))
