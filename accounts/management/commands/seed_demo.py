"""Seed the demo accounts: staff ``admin`` and players ``user001``–``user004``. Idempotent.

Refused under the production settings: it creates a superuser with a published password and
grants gold. The players' starting gold is a staff grant by ``admin`` through the audited staff
grant service (one ``gold_grant`` audit row per player, with a reason), like any other grant.
"""

import os
from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import GoldGrantRequest, LedgerEntry, User
from accounts.services import staff_gold_adjust, wallet_open

DEMO_GOLD = 100_000
DEMO_BIRTH_DATE = date(1990, 1, 1)  # the demo accounts pass the age gate
GRANT_REASON = "Demo starting gold (seed_demo)"
# Databases seeded before the grants were audited hold the gold under this ledger key.
LEGACY_SEED_KEY = "seed_demo"

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
            admin = User.objects.filter(site_id="admin").first()
            if admin is None:
                admin = User.objects.create_superuser(
                    "admin", "Admin", "01000000000", password, birth_date=DEMO_BIRTH_DATE
                )
                self.stdout.write("created staff account admin")
            for site_id, nickname, phone in DEMO_PLAYERS:
                user = User.objects.filter(site_id=site_id).first()
                if user is None:
                    user = User.objects.create_user(
                        site_id, nickname, phone, password, birth_date=DEMO_BIRTH_DATE
                    )
                    self.stdout.write(f"created player {site_id}")
                elif user.birth_date is None:  # seeded before birth dates were required
                    user.birth_date = DEMO_BIRTH_DATE
                    user.save(update_fields=["birth_date"])
                wallet_open(user)
                self._grant_starting_gold(admin, user)
        self.stdout.write(self.style.SUCCESS("demo data ready"))

    def _grant_starting_gold(self, admin: User, user: User) -> None:
        if LedgerEntry.objects.filter(wallet_id=user.pk, idempotency_key=LEGACY_SEED_KEY).exists():
            return  # granted by an earlier version of this command
        result = staff_gold_adjust(
            actor=admin,
            user_id=user.pk,
            amount=DEMO_GOLD,
            reason=GRANT_REASON,
            idempotency_key="seed_demo",
        )
        if isinstance(result, GoldGrantRequest):  # STAFF_GRANT_LIMIT set below DEMO_GOLD
            self.stdout.write(
                f"the starting gold of {user.site_id} waits for a second staff member's "
                "approval (STAFF_GRANT_LIMIT)"
            )
