from __future__ import annotations

import json

from django.contrib import admin
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest

from casinoclub.admin import ReadOnlyAdmin
from games.admin_config import GameConfigAdmin
from games.admin_crash import CrashChainAdmin, CrashRoundAdmin
from games.models import (
    FairSeed,
    GameRound,
    LeaderboardEntry,
    PlayerGameStats,
    RoundState,
)
from games.services import round_outcome_public

# registered in their modules: the reviewed configuration, the shared crash round
__all__ = ["CrashChainAdmin", "CrashRoundAdmin", "GameConfigAdmin"]

# Drawn from (or holding) a server seed that may still be secret: never shown or filtered on;
# a crash bet's shared round holds its crash point and hash until it busts (never filtered on).
SECRET_ROUND_FIELDS = frozenset({"outcome", "fair_seed", "crash_round"})


@admin.register(GameRound)
class GameRoundAdmin(ReadOnlyAdmin):
    list_display = ["id", "user", "game", "state", "bet", "payout", "multiplier_x100", "created_at"]
    list_filter = ["game", "state", "created_at"]
    search_fields = ["user__site_id", "user__nickname"]
    list_select_related = ["user"]
    # The seed row holds an unrevealed server seed; an open round's outcome (its crash point) was
    # drawn from it, so the page shows the outcome only as players see it: once settled.
    exclude = ["fair_seed", "outcome"]
    readonly_fields = ["outcome_shown"]

    @admin.display(description="outcome")
    def outcome_shown(self, round_: GameRound) -> str:
        if round_.state == RoundState.OPEN:
            return "hidden until the round ends"
        return json.dumps(round_outcome_public(round_), sort_keys=True)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # Admin allows any lookup on a local field in the URL: ?outcome__crash_x100__gte=500
        # would let staff narrow down an open round's crash point by counting the rows listed.
        if lookup.split(LOOKUP_SEP)[0] in SECRET_ROUND_FIELDS:
            return False
        return super().lookup_allowed(lookup, value, request)


@admin.register(PlayerGameStats)
class PlayerGameStatsAdmin(ReadOnlyAdmin):
    list_display = ["user", "game", "plays", "wins", "total_bet", "total_won", "max_win"]
    list_filter = ["game"]
    search_fields = ["user__site_id", "user__nickname"]


@admin.register(FairSeed)
class FairSeedAdmin(ReadOnlyAdmin):
    list_display = ["user", "server_seed_hash", "client_seed", "nonce", "is_active", "revealed_at"]
    list_filter = ["is_active"]
    exclude = ["server_seed"]  # never shown, not even to staff, before the player rotates it

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # not even narrowed down by filtering the list on it (?server_seed__gte=…)
        if lookup.split(LOOKUP_SEP)[0] == "server_seed":
            return False
        return super().lookup_allowed(lookup, value, request)


@admin.register(LeaderboardEntry)
class LeaderboardEntryAdmin(ReadOnlyAdmin):
    list_display = ["period", "period_start", "user", "net_win", "best_multiplier_x100", "rounds"]
    list_filter = ["period", "period_start"]
