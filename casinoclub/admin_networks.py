"""``/admin/`` only from the networks of ``ADMIN_ALLOWED_NETWORKS`` (when it is set).

The client is ``casinoclub.client_address`` (the trusted address behind the configured proxies),
so a forged X-Forwarded-For entry does not open the admin. Elsewhere the admin does not exist:
404, as for any unknown page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse

from .client_address import client_address
from .networks import address_in_networks, parse_networks


class AdminNetworkMiddleware:
    """404 for admin requests from outside ``ADMIN_ALLOWED_NETWORKS``; no-op when it is empty.

    Sync and async capable (like Django's own), so ASGI requests take no thread hop here.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.networks = parse_networks(settings.ADMIN_ALLOWED_NETWORKS)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _refuse_outsiders(self, request: HttpRequest) -> None:
        if (
            self.networks
            and request.path_info.startswith(reverse("admin:index"))
            and not address_in_networks(client_address(request), self.networks)
        ):
            raise Http404("Not found.")

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        self._refuse_outsiders(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        self._refuse_outsiders(request)
        return await self.get_response(request)
