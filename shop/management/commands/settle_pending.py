"""Settle pending purchases with the payment gateway now; expire those past their hold."""

from typing import Any

from django.core.management.base import BaseCommand

from shop.services import purchases_settle_pending


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        counts = purchases_settle_pending()
        self.stdout.write(", ".join(f"{status}: {count}" for status, count in counts.items()))
