"""``manage.py rollup_analytics --day YYYY-MM-DD`` or ``--since … --until …`` (inclusive days):
recompute the analytics rollups of those days (a re-run over unchanged data changes nothing)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from analytics.management.arguments import iso_day
from analytics.services.rollups import analytics_rollup_range


class Command(BaseCommand):
    help = "Recompute the analytics rollups of one day or an inclusive range of days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--day", type=iso_day, help="One day (YYYY-MM-DD, product time zone).")
        parser.add_argument("--since", type=iso_day, help="First day of a range (YYYY-MM-DD).")
        parser.add_argument(
            "--until", type=iso_day, help="Last day of a range (YYYY-MM-DD, inclusive)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["day"]:
            if options["since"] or options["until"]:
                raise CommandError("give --day or --since/--until, not both")
            first = last = options["day"]
        elif options["since"]:
            first = options["since"]
            last = options["until"] or timezone.localdate()
        else:
            last = timezone.localdate()
            first = last - timedelta(days=1)
        if last < first:
            raise CommandError("--until is before --since")
        if (last - first).days > 3660:
            raise CommandError("at most ten years at a time")
        days = analytics_rollup_range(first, last)
        self.stdout.write(f"rolled up {days} day(s): {first.isoformat()} .. {last.isoformat()}")
