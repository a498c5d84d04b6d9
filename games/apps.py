from django.apps import AppConfig


class GamesConfig(AppConfig):
    name = "games"
    verbose_name = "Games"

    def ready(self) -> None:
        from casinoclub.projections import projection_register
        from games.projections import PROJECTIONS

        for projection in PROJECTIONS:
            projection_register(projection)
