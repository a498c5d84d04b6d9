"""Game configuration in admin as a reviewed change (docs/decisions/0181-game-config-review.md).

A form per game makes a draft (never live by itself); the draft's page previews its exact RTP,
hit rate and odds next to the live version's, with a diff; from there staff approve it (an
out-of-band RTP, a second staff member), activate it now or at a set time, cancel a scheduled
activation, or roll back to an earlier version in one action. Every step is a service of
``games.configuration`` and audited; each is checked against a named permission.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from accounts.models import User
from casinoclub.errors import ApplicationError
from games import configuration
from games.config_forms import FORMS, ConfigDraftForm
from games.models import Game, GameConfig, GameConfigActivation
from games.selectors import (
    config_as_dict,
    config_diff,
    config_odds,
    game_config_activations,
    game_config_current,
    game_config_live,
    rtp_in_band,
)

PERMISSION_DRAFT = "games.add_gameconfig"
PERMISSION_ACTIVATE = "games.change_gameconfig"
PERMISSION_APPROVE = "games.approve_gameconfig"


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # the admin site lets only staff in
    return request.user


class ActivateForm(forms.Form):
    activates_at = forms.DateTimeField(
        required=False,
        label="Activate at",
        help_text=f"YYYY-MM-DD HH:MM in {timezone.get_default_timezone_name()}; empty: now.",
    )
    reason = forms.CharField(max_length=500, required=False)


def _odds(game: str, engine_data: dict[str, Any]) -> dict[str, Any] | None:
    try:
        odds = config_odds(game, engine_data)
    except (ValueError, TypeError, KeyError):
        return None
    return {**odds.to_dict(), "in_band": rtp_in_band(odds.rtp)}


def _comparison(game: str, draft: dict[str, Any], live: GameConfig) -> dict[str, Any]:
    """The draft's and the live version's odds side by side, and what differs."""
    draft_odds = _odds(game, draft["engine"])
    live_odds = _odds(game, live.engine)
    outcomes: dict[str, dict[str, Any]] = {}
    for side, odds in (("live", live_odds), ("draft", draft_odds)):
        for outcome in (odds or {}).get("outcomes", []):
            outcomes.setdefault(outcome["label"], {})[side] = outcome
    return {
        "live": live,
        "live_odds": live_odds,
        "draft_odds": draft_odds,
        "outcomes": sorted(outcomes.items()),
        "diff": config_diff(config_as_dict(live), draft),
        "band": configuration_band(),
    }


def _state(config: GameConfig, live: GameConfig) -> str:
    """live, scheduled (when), awaiting approval, draft (newer than live) or earlier; ``config``
    carries ``scheduled_at`` (``GameConfigAdmin.get_queryset``)."""
    if config.pk == live.pk:
        return "live"
    scheduled_at = getattr(config, "scheduled_at", None)
    if scheduled_at is not None:
        return f"scheduled {timezone.localtime(scheduled_at):%Y-%m-%d %H:%M}"
    if config.needs_approval and config.approved_by_id is None:
        return "awaiting approval"
    return "draft" if config.version > live.version else "earlier"


def configuration_band() -> str:
    low, high = settings.GAME_CONFIG_RTP_BAND
    return f"{low:g}% to {high:g}%"


@admin.register(GameConfig)
class GameConfigAdmin(admin.ModelAdmin[GameConfig]):
    """Versions of every game's configuration; a version is drafted, reviewed and activated here,
    never edited."""

    list_display = ["game", "version", "rtp", "note", "created_by", "created_at"]  # + state
    list_filter = ["game"]
    list_select_related = ["created_by"]
    change_list_template = "admin/games/gameconfig/change_list.html"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("draft/<str:game>/", view(self.draft_view), name="games_gameconfig_draft"),
            path(
                "<int:config_id>/review/",
                view(self.review_action_view),
                name="games_gameconfig_review",
            ),
            *super().get_urls(),
        ]

    # ------------------------------------------------------------------ list

    def get_queryset(self, request: HttpRequest) -> QuerySet[GameConfig]:
        """Each version with the time of its next scheduled activation, if any."""
        scheduled = GameConfigActivation.objects.filter(
            config=OuterRef("pk"), cancelled_at=None, activates_at__gt=timezone.now()
        ).order_by("activates_at")
        return (
            super()
            .get_queryset(request)
            .annotate(scheduled_at=Subquery(scheduled.values("activates_at")[:1]))
        )

    def get_list_display(self, request: HttpRequest) -> Any:
        """The list, with each version's state read against the live versions (one query per
        game, not per row)."""
        # Not game_config_current: a list is a read and creates no default version.
        live = {game: game_config_live(game) for game in Game.values}

        @admin.display(description="state")
        def state(config: GameConfig) -> str:
            return _state(config, live[config.game] or config)

        return ["game", "version", state, "rtp", "note", "created_by", "created_at"]

    @admin.display(description="RTP")
    def rtp(self, config: GameConfig) -> str:
        odds = _odds(config.game, config.engine)
        if odds is None:
            return "invalid"
        flag = "" if odds["in_band"] else " (out of band)"
        return f"{odds['rtp_percent']}{flag}"

    # ------------------------------------------------------------------ add → choose a game

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        game = request.GET.get("game")
        if game in Game.values:
            return HttpResponseRedirect(reverse("admin:games_gameconfig_draft", args=[game]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "New configuration draft",
            "games": Game.choices,
        }
        return TemplateResponse(request, "admin/games/gameconfig/choose_game.html", context)

    # ------------------------------------------------------------------ draft

    def draft_view(self, request: HttpRequest, game: str) -> HttpResponse:
        """The form per game, filled from the live version (or ``?base=<id>``); "Preview" shows
        the draft's odds next to the live version's and the diff, "Save draft" stores it."""
        if not request.user.has_perm(PERMISSION_DRAFT):
            return HttpResponse(status=403)
        if game not in Game.values:
            return HttpResponse(status=404)
        live = game_config_current(game)
        base = live
        base_id = request.GET.get("base", "")
        if base_id.isdigit():
            base = GameConfig.objects.filter(pk=int(base_id), game=game).first() or live
        form_class = FORMS[game]
        form: ConfigDraftForm = form_class(request.POST or None, base=base)
        comparison = None
        status = 200
        if request.method == "POST":
            if form.is_valid():
                draft = {
                    "engine": form.engine_data(),
                    "min_bet": form.cleaned_data["min_bet"],
                    "max_bet": form.cleaned_data["max_bet"],
                    "daily_limits": form.daily_limits(),
                }
                if "_save" in request.POST:
                    try:
                        saved = configuration.game_config_draft_create(
                            actor=_staff(request), game=game, note=form.cleaned_data["note"],
                            **draft,
                        )  # fmt: skip
                    except ApplicationError as error:
                        form.add_error(None, error.message)
                    else:
                        self.message_user(
                            request,
                            f"Saved {game} v{saved.version} as a draft: review and activate it.",
                            messages.SUCCESS,
                        )
                        return HttpResponseRedirect(
                            reverse("admin:games_gameconfig_change", args=[saved.pk])
                        )
                comparison = _comparison(game, draft, live)
                if comparison["draft_odds"] is None:
                    try:
                        config_odds(game, draft["engine"])
                    except (ValueError, TypeError, KeyError) as error:
                        form.add_error(None, f"Invalid configuration: {error}")
            if not form.is_valid():
                status = 400
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"New {Game(game).label} configuration (live: v{live.version})",
            "game": game,
            "form": form,
            "base": base,
            "comparison": comparison,
        }
        return TemplateResponse(
            request, f"admin/games/gameconfig/draft_{game}.html", context, status=status
        )

    # ------------------------------------------------------------------ review

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        config = (
            GameConfig.objects.select_related("created_by", "approved_by")
            .filter(pk=int(object_id) if object_id.isdigit() else 0)
            .first()
        )
        if config is None:
            return HttpResponse(status=404)
        return self._review_page(request, config)

    def _review_page(
        self, request: HttpRequest, config: GameConfig, form: ActivateForm | None = None,
        status: int = 200,
    ) -> HttpResponse:  # fmt: skip
        live = game_config_current(config.game)
        staff = _staff(request)
        awaiting = config.needs_approval and config.approved_by_id is None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{config.get_game_display()} configuration v{config.version}",
            "config": config,
            "state": _state(
                self.get_queryset(request).get(pk=config.pk), game_config_current(config.game)
            ),
            "comparison": _comparison(config.game, config_as_dict(config), live),
            "activations": game_config_activations(config.game),
            "draft_label": f"v{config.version}",
            "time_zone": timezone.get_default_timezone_name(),
            "now": timezone.now(),
            "activate_form": form or ActivateForm(),
            "awaiting_approval": awaiting,
            "can_approve": awaiting
            and staff.has_perm(PERMISSION_APPROVE)
            and config.created_by_id != staff.pk,
            "can_activate": staff.has_perm(PERMISSION_ACTIVATE) and not awaiting,
            "can_draft": staff.has_perm(PERMISSION_DRAFT),
            "is_earlier": config.version < live.version,
            "is_live": config.pk == live.pk,
        }
        return TemplateResponse(
            request, "admin/games/gameconfig/review.html", context, status=status
        )

    def review_action_view(self, request: HttpRequest, config_id: int) -> HttpResponse:
        """POST ``action`` = approve | activate | rollback | cancel (``activation_id``): 403 without
        the permission (nothing changes), 400 with the page and the error when refused."""
        if request.method != "POST":
            return HttpResponse(status=405)
        action = request.POST.get("action", "")
        needed = PERMISSION_APPROVE if action == "approve" else PERMISSION_ACTIVATE
        if action not in ("approve", "activate", "rollback", "cancel"):
            return HttpResponse(status=400)
        if not request.user.has_perm(needed):
            return HttpResponse(status=403)
        config = GameConfig.objects.filter(pk=config_id).first()
        if config is None:
            return HttpResponse(status=404)
        staff = _staff(request)
        form = ActivateForm(request.POST)
        try:
            if action == "approve":
                configuration.game_config_approve(actor=staff, config_id=config.pk)
                text = f"v{config.version} approved."
            elif action == "cancel":
                activation_id = request.POST.get("activation_id", "")
                if not activation_id.isdigit():
                    return HttpResponse(status=400)
                configuration.game_config_activation_cancel(
                    actor=staff, activation_id=int(activation_id)
                )
                text = "Scheduled activation cancelled."
            elif not form.is_valid():
                return self._review_page(request, config, form, status=400)
            elif action == "rollback":
                configuration.game_config_rollback(
                    actor=staff, config_id=config.pk, reason=form.cleaned_data["reason"]
                )
                text = f"Rolled back: v{config.version} is live; past rounds keep their version."
            else:
                activation = configuration.game_config_activate(
                    actor=staff,
                    config_id=config.pk,
                    activates_at=form.cleaned_data["activates_at"],
                    reason=form.cleaned_data["reason"],
                )
                local = timezone.localtime(activation.activates_at)
                text = f"v{config.version} activates at {local:%Y-%m-%d %H:%M %Z}."
        except ApplicationError as error:
            form.is_valid()
            form.add_error(None, error.message)
            return self._review_page(request, config, form, status=400)
        self.message_user(request, text, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:games_gameconfig_change", args=[config.pk]))
