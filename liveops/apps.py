from django.apps import AppConfig


class LiveOpsConfig(AppConfig):
    name = "liveops"
    verbose_name = "Live operations"
