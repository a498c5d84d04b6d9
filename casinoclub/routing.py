"""WebSocket routes."""

from django.urls import URLPattern, URLResolver, re_path

from casinoclub.realtime.consumers import SyncConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    re_path(r"^api/realtime/sync/?$", SyncConsumer.as_asgi()),
]
