"""Verify the gold invariant: no negative balance, and every wallet equals its ledger sum.

Prints a report; exits 1 when any wallet violates it.
"""

import sys
from typing import Any

from django.core.management.base import BaseCommand

from accounts.models import LedgerEntry, Wallet
from accounts.selectors import ledger_violations


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        violations = ledger_violations()
        wallets, entries = Wallet.objects.count(), LedgerEntry.objects.count()
        self.stdout.write(f"checked {wallets} wallets and {entries} ledger entries")
        for row in violations:
            self.stdout.write(
                self.style.ERROR(
                    f"user {row['user_id']}: balance {row['balance']}"
                    f" but ledger sums to {row['ledger_total']}"
                )
            )
        if violations:
            self.stdout.write(self.style.ERROR(f"{len(violations)} wallet(s) violate the ledger"))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("ledger OK"))
