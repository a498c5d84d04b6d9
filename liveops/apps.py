from django.apps import AppConfig


class LiveOpsConfig(AppConfig):
    name = "liveops"
    verbose_name = "Live operations"

    def ready(self) -> None:
        from accounts.exports import export_section_register
        from casinoclub.projections import projection_register
        from liveops.projections import PROJECTIONS
        from liveops.selectors import notifications_for_export

        for projection in PROJECTIONS:
            projection_register(projection)
        export_section_register("notifications", notifications_for_export)
