from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "casinoclub.realtime"
    label = "realtime"
    verbose_name = "Realtime"
