"""The shared crash round in admin: its chains and rounds, read-only (docs/decisions/0251).

Staff watch the live round (phase, times, bets, exposure) and support players about past ones;
nothing here reveals what is still to come. A round's hash, crash point and bust time (the bust
time is the crash point in another unit: ``started_at`` + the curve's time to reach it) are shown
only once the round has busted or been voided, as players see them; they are never list columns
that sort, never searched and never filtered on, and the chain's links (``CrashChainHash``) have
no admin at all. The one write is the chain's salt, set once through
``services.crash_chain_salt_set`` by staff holding ``games.set_crash_chain_salt`` (audited).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts.models import User
from casinoclub.admin import ReadOnlyAdmin
from casinoclub.errors import ApplicationError
from games import services
from games.models import CrashChain, CrashPhase, CrashRound, GameRound, RoundState
from games.selectors import crash_round_previous_hash

PERMISSION_SET_SALT = "games.set_crash_chain_salt"
# Fixed when the round is made and secret until it ends: never filtered, searched or sorted on.
SECRET_CRASH_ROUND_FIELDS = frozenset({"hash", "crash_x100", "bust_at"})
FINISHED_PHASES = (CrashPhase.BUSTED, CrashPhase.VOIDED)
HIDDEN = "hidden until the round ends"
BETS_SHOWN = 1000  # the round page's table of bets, largest first
CHAIN_FIELDS: tuple[str, ...] = (
    "id", "length", "rounds_played", "rounds_left", "terminal_hash", "salt_shown",
    "salt_source", "salt_set_at", "created_at", "rounds_link",
)  # fmt: skip
ROUND_FIELDS: tuple[str, ...] = (
    "id", "chain", "position", "phase", "config", "betting_ends_at", "started_at",
    "bust_time", "ended_at", "bets_count", "exposure", "created_at", "crash_point",
    "hash_shown", "previous_hash", "verification", "bets_table",
)  # fmt: skip


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # the admin site lets only staff in
    return request.user


def _is_finished(round_: CrashRound) -> bool:
    return round_.phase in FINISHED_PHASES


class CrashChainSaltForm(forms.Form):
    salt = forms.CharField(
        max_length=64,
        help_text="64 lowercase hex digits: the public value announced with the terminal hash "
        "(the hash of the Bitcoin block named below, once it is mined).",
    )
    source = forms.CharField(
        max_length=200, help_text='Where the salt comes from, e.g. "Bitcoin block 880000".'
    )


@admin.register(CrashChain)
class CrashChainAdmin(ReadOnlyAdmin):
    """Hash chains: made and salted by ``manage.py crash_chain`` (or the salt here, once)."""

    list_display = [
        "id", "length", "rounds_played", "rounds_left", "terminal_hash", "salt_shown",
        "salt_source", "salt_set_at", "created_at",
    ]  # fmt: skip
    fields = readonly_fields = CHAIN_FIELDS
    ordering = ["-id"]
    change_list_template = "admin/games/crashchain/change_list.html"
    change_form_template = "admin/games/crashchain/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[CrashChain]:
        # Positions run 1, 2, … with no gap: the highest is the count, read from the unique
        # (chain, position) index without counting a million rows.
        top = CrashRound.objects.filter(chain=OuterRef("pk")).order_by("-position")
        return (
            super().get_queryset(request).annotate(rounds_made=Subquery(top.values("position")[:1]))
        )

    @admin.display(description="rounds played", ordering="rounds_made")
    def rounds_played(self, chain: CrashChain) -> int:
        """Rounds made on the chain: those played and the one live, if any."""
        return getattr(chain, "rounds_made", None) or 0

    @admin.display(description="rounds left")
    def rounds_left(self, chain: CrashChain) -> int:
        return chain.length - self.rounds_played(chain)

    @admin.display(description="salt")
    def salt_shown(self, chain: CrashChain) -> str:
        return chain.salt or "not set: rounds cannot start"

    @admin.display(description="rounds")
    def rounds_link(self, chain: CrashChain) -> str:
        url = reverse("admin:games_crashround_changelist") + f"?chain__id__exact={chain.pk}"
        return format_html('<a href="{}">Rounds of this chain</a>', url)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # ?rounds__crash_x100__gte=… would list the chains whose live round busts late.
        if lookup.split(LOOKUP_SEP)[0] == "rounds":
            return False
        return super().lookup_allowed(lookup, value, request)

    def has_set_salt_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERMISSION_SET_SALT)

    def get_urls(self) -> list[Any]:
        salt = path(
            "<int:chain_id>/salt/",
            self.admin_site.admin_view(self.salt_view),
            name="games_crashchain_salt",
        )
        return [salt, *super().get_urls()]

    def salt_view(self, request: HttpRequest, chain_id: int) -> HttpResponse:
        """Set the chain's salt, once (audited); the service's refusals are shown as messages."""
        if not self.has_set_salt_permission(request):
            return HttpResponse(status=403)
        chain = CrashChain.objects.filter(pk=chain_id).first()
        if chain is None:
            return HttpResponse(status=404)
        form = CrashChainSaltForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.crash_chain_salt_set(
                    chain.pk,
                    form.cleaned_data["salt"],
                    form.cleaned_data["source"],
                    actor=_staff(request),
                )
            except ApplicationError as error:
                details = "; ".join(
                    f"{key}: {value}" for key, value in (error.details or {}).items()
                )
                self.message_user(request, f"{error.message} {details}".strip(), messages.ERROR)
            else:
                self.message_user(request, f"The salt of {chain} is set.", messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:games_crashchain_change", args=[chain.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "chain": chain,
            "form": form,
            "title": f"Set the salt of {chain}",
        }
        return TemplateResponse(request, "admin/games/crashchain/salt.html", context)


@admin.register(CrashRound)
class CrashRoundAdmin(ReadOnlyAdmin):
    """The shared rounds, newest first; the live one's outcome stays hidden until it ends."""

    list_display = [
        "id", "chain", "position", "phase", "betting_ends_at", "started_at", "bust_time",
        "ended_at", "bets_count", "exposure", "crash_point",
    ]  # fmt: skip
    list_filter = ["phase", "chain"]
    search_fields = ["=id"]
    ordering = ["-id"]
    list_select_related = ["chain"]
    fields = readonly_fields = ROUND_FIELDS

    @admin.display(description="bust time")
    def bust_time(self, round_: CrashRound) -> Any:
        # bust_at - started_at is the time the curve takes to reach the crash point
        if not _is_finished(round_):
            return HIDDEN if round_.bust_at is not None else "-"
        return timezone.localtime(round_.bust_at) if round_.bust_at else "-"

    @admin.display(description="crash point")
    def crash_point(self, round_: CrashRound) -> str:
        if not _is_finished(round_):
            return HIDDEN
        return f"{round_.crash_x100 / 100:.2f}x"

    @admin.display(description="hash")
    def hash_shown(self, round_: CrashRound) -> str:
        return round_.hash if _is_finished(round_) else HIDDEN

    @admin.display(description="previous round's hash")
    def previous_hash(self, round_: CrashRound) -> str:
        return crash_round_previous_hash(round_) or HIDDEN

    @admin.display(description="verification")
    def verification(self, round_: CrashRound) -> str:
        if not _is_finished(round_):
            return "once the round ends"
        url = reverse("play-crash-round", args=[round_.pk])
        return format_html('<a href="{}">{}</a>', url, url)

    @admin.display(description="bets")
    def bets_table(self, round_: CrashRound) -> str:
        bets = list(
            GameRound.objects.filter(crash_round=round_)
            .select_related("user")
            .order_by("-bet", "pk")[:BETS_SHOWN]
        )
        if not bets:
            return "no bets"
        rows = format_html_join(
            "",
            "<tr><td><a href='{}'>{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td></tr>",
            (
                (
                    reverse("admin:player_page", args=[bet.user_id]),
                    f"{bet.user.nickname} ({bet.user.site_id})",
                    bet.bet,
                    _multiplier(bet.params.get("auto_cashout_x100")),
                    _cashout(bet),
                    bet.payout if bet.state == RoundState.SETTLED else "-",
                    bet.get_state_display(),
                )
                for bet in bets
            ),
        )
        more = round_.bets_count - len(bets)
        note = format_html("<p>{} smaller bets not shown.</p>", more) if more > 0 else ""
        return format_html(
            "<table data-testid='crash-round-bets'><thead><tr><th>player</th><th>bet</th>"
            "<th>auto cash-out</th><th>cash-out</th><th>payout</th><th>state</th></tr></thead>"
            "<tbody>{}</tbody></table>{}",
            rows,
            note,
        )

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # ?crash_x100__gte=500 (or on the hash or the bust time) would narrow down the live
        # round's outcome by whether it is listed.
        if lookup.split(LOOKUP_SEP)[0] in SECRET_CRASH_ROUND_FIELDS:
            return False
        return super().lookup_allowed(lookup, value, request)


def _multiplier(value_x100: int | None) -> str:
    return "-" if value_x100 is None else f"{value_x100 / 100:.2f}x"


def _cashout(bet: GameRound) -> str:
    """The multiplier the bet cashed out at; '-' while it is in, or when it lost (its payout 0)."""
    if bet.state != RoundState.SETTLED or bet.multiplier_x100 == 0:
        return "-"
    return _multiplier(bet.multiplier_x100)
