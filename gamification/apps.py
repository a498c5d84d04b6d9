from django.apps import AppConfig


class GamificationConfig(AppConfig):
    name = "gamification"
    verbose_name = "Progression"

    def ready(self) -> None:
        from casinoclub.projections import projection_register
        from gamification.projections import PROJECTIONS

        for projection in PROJECTIONS:
            projection_register(projection)
