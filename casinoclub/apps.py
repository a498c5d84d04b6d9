from django.apps import AppConfig


class CasinoClubConfig(AppConfig):
    name = "casinoclub"
    verbose_name = "Casino Club"
