from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: live public metrics, the Prometheus endpoint and monitoring jobs. No models."""

    name = "casinoclub.ops"
    label = "ops"
    verbose_name = "Operations"
