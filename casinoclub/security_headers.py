"""The ``Permissions-Policy`` header (Django sets the other security headers itself)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase


class PermissionsPolicyMiddleware:
    """Adds ``PERMISSIONS_POLICY`` to every response that does not set its own."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _add_header(self, response: HttpResponseBase) -> HttpResponseBase:
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        return self._add_header(self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        return self._add_header(await self.get_response(request))
