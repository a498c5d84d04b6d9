"""Rebuild one projection from zero: delete its state and cursors, then replay the event log.

Only projections that declare how to reset their state can be rebuilt (per-game stats and the
leaderboards); projections whose application pays rewards through the ledger are not replayed.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casinoclub.projections import projection_get, projection_reset, projections_run


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the projection's name (see check_projections)")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        try:
            projection = projection_get(name)
        except KeyError as error:
            raise CommandError(str(error)) from error
        if projection.reset is None:
            raise CommandError(f"projection {name!r} cannot be rebuilt from zero")
        projection_reset(name)
        applied = projections_run(names=[name])
        self.stdout.write(self.style.SUCCESS(f"{name}: replayed {applied} event(s)"))
