"""Recompute every projection from the event log and the ledger and compare with the stored state.

Applies what is still pending first (so a lag is not reported as a difference), then asks every
projection for its differences (stats, leaderboards, counters, XP and levels with their level-up
rewards, season XP, achievements and their rewards, missions and events, play sessions, review
flags). Prints them, each named by its projection; exits 1 on any. Sends no message and pays
nothing. Run it when writers are quiet (after a load test, a deploy, a rebuild): events appended
while it compares show up as differences.
"""

import sys
from typing import Any

from django.core.management.base import BaseCommand

from casinoclub.projections import projections_all, projections_run


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        applied = projections_run()
        self.stdout.write(f"applied {applied} pending event(s) first")
        total = 0
        for projection in projections_all():
            if projection.differences is None:
                self.stdout.write(f"{projection.name}: no recomputation (not checked)")
                continue
            differences = projection.differences()
            total += len(differences)
            for line in differences[:100]:
                self.stdout.write(self.style.ERROR(line))
            status = "OK" if not differences else f"{len(differences)} difference(s)"
            self.stdout.write(f"{projection.name}: {status}")
        if total:
            self.stdout.write(self.style.ERROR(f"{total} projection difference(s)"))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("projections OK"))
