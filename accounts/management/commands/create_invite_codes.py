"""Create staff invite codes.

manage.py create_invite_codes --count 10 --max-uses 5 --days 30
"""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts import services


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--count", type=int, default=1)
        parser.add_argument("--max-uses", type=int, default=None, help="Default: unlimited.")
        parser.add_argument(
            "--days", type=int, default=None, help="Valid for N days; default: forever."
        )
        parser.add_argument("--note", default="")

    def handle(
        self,
        *args: Any,
        count: int,
        max_uses: int | None,
        days: int | None,
        note: str,
        **options: Any,
    ) -> None:
        if not 1 <= count <= 10_000:
            raise CommandError("--count must be between 1 and 10000")
        if max_uses is not None and max_uses < 1:
            raise CommandError("--max-uses must be at least 1")
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        codes = services.invite_codes_create(
            count=count,
            max_uses=max_uses,
            expires_at=expires_at,
            note=note,
            source="manage.py create_invite_codes",
        )
        for code in codes:
            self.stdout.write(code.code)
