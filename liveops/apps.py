from django.apps import AppConfig


class LiveOpsConfig(AppConfig):
    name = "liveops"
    verbose_name = "Live operations"

    def ready(self) -> None:
        from casinoclub.projections import projection_register
        from liveops.projections import PROJECTIONS

        for projection in PROJECTIONS:
            projection_register(projection)
