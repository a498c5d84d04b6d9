"""``manage.py export_events --since YYYY-MM-DD --until YYYY-MM-DD [--out DIR] [--resume]``:
the event log and the analytics rollups as JSON Lines for a warehouse (docs/analytics-export.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from analytics.management.arguments import iso_day
from analytics.services.export import export_range, export_resume


class Command(BaseCommand):
    help = "Export the event log and the analytics rollups as JSON Lines (one file per table)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since", type=iso_day, help="First day (YYYY-MM-DD, product time zone)."
        )
        parser.add_argument("--until", type=iso_day, help="Last day, inclusive (default: today).")
        parser.add_argument("--out", default="export", help="Directory of the files.")
        parser.add_argument(
            "--resume",
            action="store_true",
            help="Events after the cursor in DIR/cursor.json (then move it), not by day.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        since = options["since"]
        until = options["until"] or timezone.localdate()
        out_dir = Path(options["out"])
        if options["resume"]:
            counts = export_resume(out_dir, since or until, until)
        else:
            if since is None:
                raise CommandError("--since is required (or --resume)")
            if until < since:
                raise CommandError("--until is before --since")
            counts = export_range(out_dir, since, until)
        summary = ", ".join(f"{name} {count}" for name, count in counts.items())
        self.stdout.write(f"exported to {out_dir}: {summary}")
