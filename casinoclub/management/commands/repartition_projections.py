"""Move the projections to another number of partitions (``PROJECTION_PARTITIONS``).

Applies what is pending, then replaces every projection's cursors with N new ones at their common
end, in one transaction; refuses (exit 1) while a partition is behind. Afterwards set
``PROJECTION_PARTITIONS=N`` on every web process and worker, and run one projection worker per
partition (README, "More projection workers"); until they restart, runners with the old setting
refuse to apply.
"""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from casinoclub.projections import RepartitionRefused, projections_repartition


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("partitions", type=int, help="the new PROJECTION_PARTITIONS")

    def handle(self, *args: Any, **options: Any) -> None:
        partitions = options["partitions"]
        try:
            ends = projections_repartition(partitions)
        except (RepartitionRefused, ValueError) as error:
            self.stdout.write(self.style.ERROR(str(error)))
            sys.exit(1)
        for name, (transaction_id, event_id) in sorted(ends.items()):
            self.stdout.write(f"{name}: {partitions} cursor(s) at ({transaction_id}, {event_id})")
        self.stdout.write(
            self.style.SUCCESS(
                f"now set PROJECTION_PARTITIONS={partitions} everywhere and restart the workers"
            )
        )
