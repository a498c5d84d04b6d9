from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import Max
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest

from accounts.services import audit_log_record
from casinoclub.admin import ReadOnlyAdmin
from games.models import (
    FairSeed,
    GameConfig,
    GameRound,
    LeaderboardEntry,
    PlayerGameStats,
    RoundState,
)
from games.selectors import ENGINE_CONFIG_CLASSES
from games.services import round_outcome_public

# Drawn from (or holding) a server seed that may still be secret: never shown or filtered on.
SECRET_ROUND_FIELDS = frozenset({"outcome", "fair_seed"})


class GameConfigForm(forms.ModelForm[GameConfig]):
    class Meta:
        model = GameConfig
        fields = ["game", "engine", "min_bet", "max_bet", "daily_limits", "note"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        game, engine_data = data.get("game"), data.get("engine")
        if game and engine_data is not None:
            try:
                ENGINE_CONFIG_CLASSES[game].from_dict(engine_data).validate()
            except (ValueError, TypeError, KeyError) as error:
                self.add_error("engine", f"Invalid configuration: {error}")
        limits = data.get("daily_limits")
        if limits is not None and not (
            isinstance(limits, dict)
            and all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in limits.values()
            )
        ):
            self.add_error("daily_limits", 'Give {"RANK": rounds per day, ...}; 0 = unlimited.')
        return data


@admin.register(GameConfig)
class GameConfigAdmin(admin.ModelAdmin[GameConfig]):
    """Saving never edits a version: it stores the form as the game's next version."""

    form = GameConfigForm
    list_display = ["game", "version", "min_bet", "max_bet", "note", "created_by", "created_at"]
    list_filter = ["game"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: GameConfig, form: Any, change: bool) -> None:
        with transaction.atomic():
            latest = GameConfig.objects.select_for_update().filter(game=obj.game)
            version = (latest.aggregate(Max("version"))["version__max"] or 0) + 1
            previous = latest.order_by("-version").first()
            obj.pk = None
            obj._state.adding = True
            obj.version = version
            obj.created_by = request.user  # type: ignore[assignment]  # staff only reach admin
            obj.save()
            audit_log_record(
                actor=request.user,  # type: ignore[arg-type]  # staff only reach admin
                action="game_config_change",
                target=f"{obj.game} v{version}",
                before=None
                if previous is None
                else {"version": previous.version, "engine": previous.engine},
                after={"version": version, "engine": obj.engine, "min_bet": obj.min_bet,
                       "max_bet": obj.max_bet, "daily_limits": obj.daily_limits},
                reason=obj.note,
            )  # fmt: skip


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
