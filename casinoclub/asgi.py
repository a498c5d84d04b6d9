"""HTTP and WebSocket in one ASGI application (served by daphne)."""

import os

from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casinoclub.settings.local")

django_asgi_app = get_asgi_application()
# In development daphne serves static files itself; production puts a proxy in front.
http_app = ASGIStaticFilesHandler(django_asgi_app) if settings.DEBUG else django_asgi_app

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402

from casinoclub.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http_app,
        # The session (cookie) lets the player pages' sockets in without a token; the consumer
        # decides, and checks the Origin of cookie-authenticated handshakes.
        "websocket": SessionMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
