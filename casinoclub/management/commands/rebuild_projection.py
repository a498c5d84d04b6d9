"""Rebuild one projection from the event log.

Projections without side effects (per-game stats, leaderboards) are deleted and replayed from
zero. Projections whose application pays rewards or sends messages (progression, missions and
events, play sessions, review flags) are repaired instead: their state is recomputed from the
events their cursors applied and written, paying and sending nothing (docs/decisions).
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casinoclub.projections import (
    projection_get,
    projection_repair,
    projection_reset,
    projections_run,
)


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
        if projection.reset is not None:
            projection_reset(name)
            applied = projections_run(names=[name])
            self.stdout.write(self.style.SUCCESS(f"{name}: replayed {applied} event(s)"))
        elif projection.repair is not None:
            changed = projection_repair(name)
            self.stdout.write(
                self.style.SUCCESS(f"{name}: recomputed from the log, {changed} row(s) repaired")
            )
        else:
            raise CommandError(f"projection {name!r} cannot be rebuilt")
