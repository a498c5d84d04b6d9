"""``manage.py export_events --since YYYY-MM-DD --until YYYY-MM-DD [--out DIR] [--resume]``:
the event log and the analytics rollups as JSON Lines for a warehouse (docs/analytics-export.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from analytics.services.export import export_range, export_resume


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{name}: not a date (YYYY-MM-DD): {value!r}") from None


class Command(BaseCommand):
    help = "Export the event log and the analytics rollups as JSON Lines (one file per table)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="First day (YYYY-MM-DD, product time zone).")
        parser.add_argument("--until", help="Last day, inclusive (default: today).")
        parser.add_argument("--out", default="export", help="Directory of the files.")
        parser.add_argument(
            "--resume",
            action="store_true",
            help="Events after the cursor in DIR/cursor.json (then move it), not by day.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        since = _day(options["since"], "--since")
        until = _day(options["until"], "--until") or timezone.localdate()
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
