from django.apps import AppConfig


class PagesConfig(AppConfig):
    """The player pages: server-rendered shells over the JSON API and the socket. No models."""

    name = "casinoclub.pages"
    label = "pages"
    verbose_name = "Player pages"
