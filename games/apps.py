from typing import Any

from django.apps import AppConfig


def _open_crash_rounds_settle(sender: Any, **kwargs: Any) -> None:
    """Maintenance is starting: no crash round may stay open while play is refused."""
    from games.services import crash_rounds_settle_open

    crash_rounds_settle_open()


class GamesConfig(AppConfig):
    name = "games"
    verbose_name = "Games"

    def ready(self) -> None:
        from casinoclub.projections import projection_register
        from games.projections import PROJECTIONS

        for projection in PROJECTIONS:
            projection_register(projection)

        from accounts.exports import export_section_register
        from games.selectors import rounds_for_export

        export_section_register("rounds", rounds_for_export)

        from casinoclub.operations import maintenance_starting

        maintenance_starting.connect(
            _open_crash_rounds_settle, dispatch_uid="games_settle_crash_before_maintenance"
        )
