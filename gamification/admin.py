"""Staff edit progression configuration here; claim and unlock records are read-only.

Every save of configuration (streak rewards, achievements, seasons and their tiers) is written to
the audit log with before/after, like the shop's catalog.
"""

from __future__ import annotations

from django.contrib import admin

from casinoclub.admin import AuditedAdmin, ReadOnlyAdmin
from gamification.models import (
    Achievement,
    AchievementUnlock,
    BattlePassClaim,
    PlayerProgress,
    Season,
    SeasonProgress,
    StreakClaim,
    StreakReward,
    StreakState,
    Tier,
    VipClaim,
)


@admin.register(StreakReward)
class StreakRewardAdmin(AuditedAdmin):
    list_display = ["day", "gold"]
    list_editable = ["gold"]
    ordering = ["day"]


@admin.register(Achievement)
class AchievementAdmin(AuditedAdmin):
    list_display = [
        "code",
        "name",
        "metric",
        "threshold",
        "reward_gold",
        "reward_xp",
        "is_active",
        "display_order",
    ]
    list_filter = ["metric", "is_active"]
    list_editable = ["is_active", "display_order"]
    search_fields = ["code", "name", "name_ko"]


class TierInline(admin.TabularInline[Tier, Season]):
    model = Tier
    extra = 1
    ordering = ["number"]


@admin.register(Season)
class SeasonAdmin(AuditedAdmin):
    list_display = ["code", "name", "starts_at", "ends_at", "premium_item_code"]
    search_fields = ["code", "name", "name_ko"]
    readonly_fields = ["premium_item_code"]
    inlines = [TierInline]

    @admin.display(description="Premium track item (create a shop product granting it)")
    def premium_item_code(self, season: Season) -> str:
        return season.premium_item_code if season.code else "-"


@admin.register(StreakClaim)
class StreakClaimAdmin(ReadOnlyAdmin):
    list_display = ["user", "day", "streak_day", "reward_gold", "created_at"]
    list_filter = ["day"]
    search_fields = ["user__site_id", "user__nickname"]
    list_select_related = ["user"]


@admin.register(StreakState)
class StreakStateAdmin(ReadOnlyAdmin):
    list_display = ["user", "current_streak", "best_streak", "last_claim_date"]
    search_fields = ["user__site_id", "user__nickname"]
    list_select_related = ["user"]


@admin.register(VipClaim)
class VipClaimAdmin(ReadOnlyAdmin):
    list_display = ["user", "day", "rank", "points", "reward_gold", "created_at"]
    list_filter = ["day", "rank"]
    search_fields = ["user__site_id", "user__nickname"]
    list_select_related = ["user"]


@admin.register(PlayerProgress)
class PlayerProgressAdmin(ReadOnlyAdmin):
    list_display = [
        "user",
        "rounds_played",
        "total_bet",
        "total_won",
        "best_win_streak",
        "best_multiplier_x100",
        "purchases",
        "best_streak_days",
    ]
    search_fields = ["user__site_id", "user__nickname"]
    list_select_related = ["user"]


@admin.register(AchievementUnlock)
class AchievementUnlockAdmin(ReadOnlyAdmin):
    list_display = ["user", "achievement", "value", "unlocked_at"]
    list_filter = ["achievement"]
    search_fields = ["user__site_id", "user__nickname", "achievement__code"]
    list_select_related = ["user", "achievement"]


@admin.register(SeasonProgress)
class SeasonProgressAdmin(ReadOnlyAdmin):
    list_display = ["user", "season", "xp"]
    list_filter = ["season"]
    search_fields = ["user__site_id", "user__nickname"]
    list_select_related = ["user", "season"]


@admin.register(BattlePassClaim)
class BattlePassClaimAdmin(ReadOnlyAdmin):
    list_display = ["user", "tier", "track", "reward_gold", "reward_item", "created_at"]
    list_filter = ["track", "tier__season"]
    search_fields = ["user__site_id", "user__nickname"]
    list_select_related = ["user", "tier"]
