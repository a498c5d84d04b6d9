"""DRF's rate limits, identifying anonymous clients by ``casinoclub.client_address``."""

from __future__ import annotations

from typing import Any

from rest_framework import throttling

from .client_address import client_address


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    """``ScopedRateThrottle`` whose per-client bucket is keyed by the trusted client address."""

    def get_ident(self, request: Any) -> str:
        return client_address(request) or "unknown"
