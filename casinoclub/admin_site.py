"""The admin site as served: the staff sign-in site plus the staff tools that read every app (the
player page, the live-ops calendar).

A module of its own, named only by ``StaffAdminConfig.default_site``: the apps' admin modules
import the shared pieces of ``casinoclub.admin`` and must not pull every other app in with them.
"""

from __future__ import annotations

from typing import Any

from analytics.admin_views import analytics_urls
from casinoclub.admin import StaffAdminSite
from casinoclub.admin_calendar import calendar_urls
from casinoclub.admin_player import player_page_urls


class CasinoClubAdminSite(StaffAdminSite):
    def get_urls(self) -> list[Any]:
        return [
            *player_page_urls(self),
            *calendar_urls(self),
            *analytics_urls(self),
            *super().get_urls(),
        ]
