"""The client's address: the one place that reads REMOTE_ADDR and X-Forwarded-For.

Rate limits, the login lockout's records, the admin's network allow-list, the live metrics
stream's per-client caps and the access log all ask ``client_address``, so they agree on who the
client is (docs/decisions/0116-client-address.md).

``REST_FRAMEWORK["NUM_PROXIES"]`` (``DJANGO_NUM_PROXIES``) is the number of reverse proxies in
front of the app, each of which *appends* the address it received the request from to
X-Forwarded-For (nginx: ``$proxy_add_x_forwarded_for``). The client is then the Nth entry from the
right: entries further left were written by the client itself and are never trusted. With 0 the
header is ignored and the client is the peer (REMOTE_ADDR).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from django.conf import settings


def trusted_proxy_count() -> int:
    """``DJANGO_NUM_PROXIES``: the one setting saying how many proxies stand in front."""
    configured = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    return int(configured)  # type: ignore[arg-type]  # an int in settings/base.py


def _valid_address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address_from_meta(meta: Mapping[str, Any], num_proxies: int | None = None) -> str | None:
    """The client's IP address from a request's META (or a WSGI environ); None if unknown.

    With fewer X-Forwarded-For entries than proxies, the leftmost entry is the best there is (it
    was written by the outermost proxy). An entry that is not an IP address (a misconfigured
    proxy) falls back to the peer's address rather than trusting free text.
    """
    proxies = trusted_proxy_count() if num_proxies is None else num_proxies
    peer = _valid_address(str(meta.get("REMOTE_ADDR") or ""))
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR") or "")
    if proxies <= 0 or not forwarded.strip():
        return peer
    entries = [entry for entry in forwarded.split(",") if entry.strip()]
    if not entries:
        return peer
    return _valid_address(entries[-min(proxies, len(entries))]) or peer


def client_address(request: Any) -> str | None:
    """The client's IP address of a Django ``HttpRequest`` or DRF ``Request``."""
    return client_address_from_meta(request.META)
