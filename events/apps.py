from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Events and missions"

    def ready(self) -> None:
        from casinoclub.projections import projection_register
        from events.projections import PROJECTIONS

        for projection in PROJECTIONS:
            projection_register(projection)
