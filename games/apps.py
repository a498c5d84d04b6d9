from typing import Any

from django.apps import AppConfig


def _open_crash_rounds_settle(sender: Any, **kwargs: Any) -> None:
    """Maintenance is starting: the round still taking bets is voided (stakes returned) and a due
    one busts; a running round runs to its committed bust (docs/decisions/0226)."""
    from games.services import crash_settle_open_rounds

    crash_settle_open_rounds()


class GamesConfig(AppConfig):
    name = "games"
    verbose_name = "Games"

    def ready(self) -> None:
        from casinoclub.projections import projection_register
        from casinoclub.realtime.services import public_group_register
        from games.projections import PROJECTIONS
        from games.selectors import crash_state_get

        for projection in PROJECTIONS:
            projection_register(projection)
        # sockets subscribe to the shared crash round (docs/decisions/0248)
        public_group_register("crash", crash_state_get)

        from accounts.exports import export_section_register
        from games.selectors import rounds_for_export

        export_section_register("rounds", rounds_for_export)

        from casinoclub.operations import maintenance_starting

        maintenance_starting.connect(
            _open_crash_rounds_settle, dispatch_uid="games_settle_crash_before_maintenance"
        )
