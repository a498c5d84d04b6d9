"""Live operations in admin: segments with a live count and preview, campaigns with their A/B
figures and a "send" action, player metrics with "recompute now"."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from accounts.models import Item, Rank
from casinoclub.admin import ReadOnlyAdmin
from liveops import selectors, services
from liveops.exceptions import CampaignRewardAboveLimit
from liveops.models import (
    Campaign,
    CampaignStatus,
    CampaignVariant,
    Notification,
    PlayerMetrics,
    PlayStateFilter,
    Purpose,
    Segment,
    Target,
    Trigger,
)


class SegmentForm(forms.ModelForm[Segment]):
    rank = forms.ChoiceField(choices=[("", "Any"), *Rank.choices], required=False)
    language = forms.ChoiceField(
        choices=[("", "Any"), *settings.LANGUAGES],
        required=False,
        help_text="The language the player's e-mail and notifications use.",
    )

    class Meta:
        model = Segment
        fields = (
            "name",
            "description",
            "purpose",
            "rank",
            "level_min",
            "level_max",
            "language",
            "joined_after",
            "joined_before",
            "spend_min_cents",
            "spend_max_cents",
            "last_seen_after",
            "last_seen_before",
            "recency_min",
            "recency_max",
            "frequency_min",
            "frequency_max",
            "monetary_min",
            "monetary_max",
            "risk",
            "play_state",
        )

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        for low, high in (
            ("level_min", "level_max"),
            ("joined_after", "joined_before"),
            ("spend_min_cents", "spend_max_cents"),
            ("last_seen_after", "last_seen_before"),
            ("recency_min", "recency_max"),
            ("frequency_min", "frequency_max"),
            ("monetary_min", "monetary_max"),
        ):
            if data.get(low) is not None and data.get(high) is not None and data[low] > data[high]:
                self.add_error(high, f"Must not be before {low.replace('_', ' ')}.")
        if (
            data.get("purpose") == Purpose.MARKETING
            and data.get("play_state") == PlayStateFilter.BLOCKED
        ):
            self.add_error(
                "play_state",
                "A marketing segment never includes players in a cool-off or self-exclusion.",
            )
        return data


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin[Segment]):
    form = SegmentForm
    list_display = ("name", "purpose", "members")
    readonly_fields = ("members_preview",)
    search_fields = ("name",)

    @admin.display(description="members now")
    def members(self, segment: Segment) -> int:
        return selectors.segment_members(segment).count()

    @admin.display(description="members now (first 20)")
    def members_preview(self, segment: Segment) -> str:
        if segment.pk is None:
            return "Save the segment to see its members."
        count, first = selectors.segment_preview(segment)
        rows = format_html_join(
            "", "<li>{} ({}), level {}</li>", ((u.site_id, u.nickname, u.level) for u in first)
        )
        return format_html("<p>{} players</p><ul>{}</ul>", count, rows)


class CampaignVariantInline(admin.TabularInline[CampaignVariant, Campaign]):
    model = CampaignVariant
    extra = 0


class CampaignForm(forms.ModelForm[Campaign]):
    class Meta:
        model = Campaign
        fields = (
            "name",
            "category",
            "title_en",
            "title_ko",
            "body_en",
            "body_ko",
            "target",
            "segment",
            "listed_site_ids",
            "trigger",
            "trigger_value",
            "reward_gold",
            "reward_item_code",
            "reward_item_quantity",
            "send_email",
            "holdout_percent",
            "scheduled_at",
        )

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if data.get("trigger"):
            if data.get("trigger") != Trigger.FIRST_PURCHASE and not data.get("trigger_value"):
                self.add_error("trigger_value", "This rule needs a value.")
        elif data.get("target") == Target.SEGMENT and data.get("segment") is None:
            self.add_error("segment", "Choose the segment.")
        elif data.get("target") == Target.LISTED:
            site_ids = selectors.listed_site_ids(data.get("listed_site_ids") or "")
            if not site_ids:
                self.add_error("listed_site_ids", "List at least one site id.")
            else:
                known = set(
                    selectors.players_base()
                    .filter(site_id__in=site_ids)
                    .values_list("site_id", flat=True)
                )
                unknown = sorted(set(site_ids) - known)
                if unknown:
                    self.add_error("listed_site_ids", f"Unknown players: {', '.join(unknown)}")
        code = data.get("reward_item_code")
        if code and not Item.objects.filter(code=code).exists():
            self.add_error("reward_item_code", "No item has this code.")
        if code and not data.get("reward_item_quantity"):
            self.add_error("reward_item_quantity", "Give a quantity of at least 1.")
        return data


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin[Campaign]):
    form = CampaignForm
    inlines = [CampaignVariantInline]
    list_display = ("name", "category", "target", "trigger", "status", "scheduled_at", "sent_at")
    list_filter = ("status", "category", "trigger")
    readonly_fields = ("status", "activated_at", "sent_at", "figures")
    actions = ["send_campaigns", "stop_rules"]

    def has_send_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("liveops.send_campaign"))

    def has_change_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        if obj is not None and obj.status not in (CampaignStatus.DRAFT, CampaignStatus.STOPPED):
            return False  # what was sent stays as it was sent
        return super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]  # staff are Users
        super().save_model(request, obj, form, change)

    @admin.display(description="figures per variant")
    def figures(self, campaign: Campaign) -> str:
        if campaign.pk is None:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    row["variant"],
                    row["players"],
                    row["delivered"],
                    row["opened"],
                    row["claimed"],
                    row["returned_7d"],
                )
                for row in selectors.campaign_variant_stats(campaign)
            ),
        )
        return format_html(
            "<table><thead><tr><th>variant</th><th>players</th><th>delivered</th><th>opened</th>"
            "<th>claimed</th><th>returned within 7 days</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.action(
        description="Send selected campaigns (or switch their rules on)", permissions=["send"]
    )
    def send_campaigns(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset.order_by("pk"):
            try:
                updated = services.campaign_send(campaign.pk, actor=request.user)  # type: ignore[arg-type]  # staff are Users
            except CampaignRewardAboveLimit as error:
                self.message_user(request, f"{campaign}: {error.message}", messages.ERROR)
                continue
            self.message_user(request, f"{updated}: {updated.get_status_display()}")

    @admin.action(description="Stop selected campaign rules", permissions=["send"])
    def stop_rules(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset.order_by("pk"):
            services.campaign_stop(campaign.pk, actor=request.user)  # type: ignore[arg-type]  # staff are Users


@admin.register(PlayerMetrics)
class PlayerMetricsAdmin(ReadOnlyAdmin):
    list_display = (
        "user",
        "recency_bucket",
        "frequency_bucket",
        "monetary_bucket",
        "lifetime_value_cents",
        "last_active_at",
        "activity_streak_days",
        "is_rapid_spend",
        "is_chasing_losses",
        "computed_at",
    )
    list_filter = ("is_rapid_spend", "is_chasing_losses", "recency_bucket", "monetary_bucket")
    search_fields = ("user__site_id",)
    change_list_template = "admin/liveops/playermetrics/change_list.html"

    def get_urls(self) -> list[Any]:
        recompute = path(
            "recompute/",
            self.admin_site.admin_view(self.recompute_view),
            name="liveops_playermetrics_recompute",
        )
        return [recompute, *super().get_urls()]

    def recompute_view(self, request: HttpRequest) -> HttpResponse:
        """POST: recompute every player's metrics now (audited), then back to the list."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("liveops.recompute_playermetrics"):
            raise PermissionDenied
        rows = services.player_metrics_recompute(actor=request.user)  # type: ignore[arg-type]  # staff are Users
        self.message_user(request, f"Recomputed the metrics of {rows} players.", messages.SUCCESS)
        response = HttpResponseRedirect(reverse("admin:liveops_playermetrics_changelist"))
        response.status_code = 303  # See Other: the list, fetched with GET
        return response


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("user", "category", "title", "campaign", "read_at", "claimed_at", "created_at")
    list_filter = ("category",)
    search_fields = ("user__site_id", "title")
