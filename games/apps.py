from django.apps import AppConfig


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
