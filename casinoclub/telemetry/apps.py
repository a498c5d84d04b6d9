from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    name = "casinoclub.telemetry"
    label = "telemetry"
    verbose_name = "Telemetry"
