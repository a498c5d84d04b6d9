"""The player page: one admin page per player for support (docs/decisions/0180-player-page.md).

Profile, balance, the ledger (paginated, filtered by reason and date), rounds, purchases with the
refund action, inventory, responsible-play state, bans and the audit rows about the player, and
the actions staff may take there. Every section and every action is checked against a named
permission; each action is one existing audited service (``player_note_add``, ``user_set_active``,
``staff_gold_adjust``, ``purchase_refund``). It lives here, not in ``accounts``, because it reads
the games and shop apps, which ``accounts`` may not import.
"""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import (
    AuditLogEntry,
    GoldGrantRequest,
    LedgerEntry,
    LedgerReason,
    PlayerNote,
    ResponsiblePlay,
    User,
)
from accounts.selectors import inventory_list, wallet_balance
from casinoclub.errors import ApplicationError
from games.selectors import round_list
from shop import services as shop_services
from shop.models import PurchaseStatus
from shop.selectors import purchases_list

LEDGER_PAGE_SIZE = 50
RECENT_ROWS = 20

# Section / action → the permission it needs ("app_label.codename").
PERMISSIONS = {
    "page": "accounts.view_user",
    "ledger": "accounts.view_ledgerentry",
    "rounds": "games.view_gameround",
    "purchases": "shop.view_purchase",
    "audit": "accounts.view_auditlogentry",
    "notes": "accounts.view_playernote",
    "note": "accounts.add_playernote",
    "ban": "accounts.ban_user",
    "gold": "accounts.grant_gold",
    "refund": "shop.change_purchase",
}
BAN_ACTIONS = ("user_ban", "user_unban")


class LedgerFilterForm(forms.Form):
    reason = forms.ChoiceField(
        choices=[("", "every reason"), *LedgerReason.choices], required=False
    )
    since = forms.DateField(required=False, help_text="YYYY-MM-DD, from the start of that day.")
    until = forms.DateField(required=False, help_text="YYYY-MM-DD, to the end of that day.")


class NoteForm(forms.Form):
    text = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class BanForm(forms.Form):
    action = forms.ChoiceField(choices=[("ban", "Ban"), ("unban", "Unban")])
    reason = forms.CharField(max_length=500)
    banned_until = forms.DateTimeField(
        required=False, help_text="Ban: ends at YYYY-MM-DD HH:MM (Asia/Seoul); empty: until lifted."
    )


class GoldForm(forms.Form):
    amount = forms.IntegerField(
        min_value=-(10**12), max_value=10**12, help_text="Positive grants, negative revokes."
    )
    reason = forms.CharField(max_length=500)
    request_id = forms.CharField(widget=forms.HiddenInput)  # makes a double submit harmless


class RefundForm(forms.Form):
    purchase_id = forms.IntegerField(min_value=1)
    reason = forms.CharField(max_length=500)


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # the admin site lets only staff in
    return request.user


def _can(request: HttpRequest, name: str) -> bool:
    return request.user.has_perm(PERMISSIONS[name])


def _day_start(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def ledger_page(user_id: int, filters: LedgerFilterForm, page: str | None) -> Any:
    """The player's ledger rows, newest first, filtered by the valid filters, one page of them."""
    rows = LedgerEntry.objects.filter(wallet_id=user_id).order_by("-id")
    if filters.is_valid():
        if filters.cleaned_data["reason"]:
            rows = rows.filter(reason=filters.cleaned_data["reason"])
        if filters.cleaned_data["since"]:
            rows = rows.filter(created_at__gte=_day_start(filters.cleaned_data["since"]))
        if filters.cleaned_data["until"]:
            end = _day_start(filters.cleaned_data["until"]) + timedelta(days=1)
            rows = rows.filter(created_at__lt=end)
    return Paginator(rows, LEDGER_PAGE_SIZE).get_page(page)


class PlayerPage:
    """The views of the player page, bound to the admin site that serves them."""

    def __init__(self, site: admin.AdminSite) -> None:
        self.site = site

    def urls(self) -> list[URLPattern]:
        view = self.site.admin_view
        return [
            path("players/<int:user_id>/", view(self.page_view), name="player_page"),
            path(
                "players/<int:user_id>/<str:action>/",
                view(self.action_view),
                name="player_page_action",
            ),
        ]

    # ------------------------------------------------------------------ the page

    def page_view(
        self,
        request: HttpRequest,
        user_id: int,
        forms_with_errors: dict[str, forms.Form] | None = None,
        status: int = 200,
    ) -> HttpResponse:
        if not _can(request, "page"):
            return HttpResponse(status=403)
        player = User.objects.filter(pk=user_id).first()
        if player is None:
            return HttpResponse(status=404)
        bound = forms_with_errors or {}
        filters = LedgerFilterForm(request.GET or None)
        allowed = {name: _can(request, name) for name in PERMISSIONS}
        context: dict[str, Any] = {
            **self.site.each_context(request),
            "title": f"Player: {player}",
            "player": player,
            "allowed": allowed,
            "balance": wallet_balance(player.pk),
            "inventory": inventory_list(player.pk),
            "responsible": ResponsiblePlay.objects.filter(pk=player.pk).first(),
            "responsible_history": AuditLogEntry.objects.filter(
                target_user=player, action__startswith="responsible_"
            ).select_related("actor")[:RECENT_ROWS],
            "bans": AuditLogEntry.objects.filter(target_user=player, action__in=BAN_ACTIONS)
            .select_related("actor")
            .order_by("-created_at", "-id")[:RECENT_ROWS],
            "now": timezone.now(),
            "time_zone": timezone.get_current_timezone_name(),
            "note_form": bound.get("note") or NoteForm(),
            "ban_form": bound.get("ban") or BanForm(),
            "gold_form": bound.get("gold")
            or GoldForm(initial={"request_id": secrets.token_hex(16)}),
            "refund_form": bound.get("refund"),
            "pending_grants": GoldGrantRequest.objects.filter(
                user=player, status="pending"
            ).order_by("-id"),
        }
        if allowed["ledger"]:
            context["ledger_filters"] = filters
            context["ledger"] = ledger_page(player.pk, filters, request.GET.get("page"))
            query = request.GET.copy()
            query.pop("page", None)
            context["ledger_query"] = query.urlencode()
        if allowed["rounds"]:
            context["rounds"] = round_list(player.pk).select_related("config")[:RECENT_ROWS]
        if allowed["purchases"]:
            context["purchases"] = purchases_list(player.pk).select_related("product", "package")[
                :RECENT_ROWS
            ]
            context["refundable_status"] = PurchaseStatus.SUCCESS
        if allowed["audit"]:
            context["audit"] = (
                AuditLogEntry.objects.filter(target_user=player)
                .select_related("actor")
                .order_by("-created_at", "-id")[:RECENT_ROWS]
            )
        if allowed["notes"]:
            context["notes"] = PlayerNote.objects.filter(user=player).select_related("author")[
                :RECENT_ROWS
            ]
        return TemplateResponse(request, "admin/player_page.html", context, status=status)

    # ------------------------------------------------------------------ the actions

    def action_view(self, request: HttpRequest, user_id: int, action: str) -> HttpResponse:
        """POST one action: 405 for another method, 404 for an unknown action or player, 403
        without its permission (nothing changes), 400 with the page and the error for bad input
        or a refused action, a redirect to the page when it is done."""
        handlers = {
            "note": self._note,
            "ban": self._ban,
            "gold": self._gold,
            "refund": self._refund,
        }
        if request.method != "POST":
            return HttpResponse(status=405)
        handler = handlers.get(action)
        if handler is None:
            return HttpResponse(status=404)
        if not _can(request, "page") or not _can(request, action):
            return HttpResponse(status=403)
        player = User.objects.filter(pk=user_id).first()
        if player is None:
            return HttpResponse(status=404)
        return handler(request, player)

    def _done(self, request: HttpRequest, player: User, text: str, level: int) -> HttpResponse:
        messages.add_message(request, level, text)
        return HttpResponseRedirect(reverse("admin:player_page", args=[player.pk]))

    def _refused(self, request: HttpRequest, player: User, name: str, form: forms.Form) -> Any:
        return self.page_view(request, player.pk, forms_with_errors={name: form}, status=400)

    def _note(self, request: HttpRequest, player: User) -> HttpResponse:
        form = NoteForm(request.POST)
        if form.is_valid():
            try:
                account_services.player_note_add(
                    actor=_staff(request), user_id=player.pk, text=form.cleaned_data["text"]
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                return self._done(request, player, "Note added.", messages.SUCCESS)
        return self._refused(request, player, "note", form)

    def _ban(self, request: HttpRequest, player: User) -> HttpResponse:
        form = BanForm(request.POST)
        if form.is_valid() and player.pk == request.user.pk:
            form.add_error(None, "Staff cannot ban or unban themselves.")
        if form.is_valid():
            is_active = form.cleaned_data["action"] == "unban"
            try:
                account_services.user_set_active(
                    player,
                    is_active=is_active,
                    actor=_staff(request),
                    reason=form.cleaned_data["reason"].strip(),
                    banned_until=form.cleaned_data["banned_until"],
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                verb = "unbanned" if is_active else "banned"
                return self._done(request, player, f"{player} {verb}.", messages.SUCCESS)
        return self._refused(request, player, "ban", form)

    def _gold(self, request: HttpRequest, player: User) -> HttpResponse:
        form = GoldForm(request.POST)
        if form.is_valid():
            try:
                result = account_services.staff_gold_adjust(
                    actor=_staff(request),
                    user_id=player.pk,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    idempotency_key=f"admin:{form.cleaned_data['request_id']}",
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                if isinstance(result, GoldGrantRequest):
                    text = (
                        f"Above the limit of {account_services.staff_grant_limit():,} gold: grant "
                        f"request #{result.pk} waits for another staff member's approval."
                    )
                    return self._done(request, player, text, messages.WARNING)
                return self._done(request, player, "Gold adjusted.", messages.SUCCESS)
        return self._refused(request, player, "gold", form)

    def _refund(self, request: HttpRequest, player: User) -> HttpResponse:
        form = RefundForm(request.POST)
        if form.is_valid():
            purchase_id = form.cleaned_data["purchase_id"]
            if not purchases_list(player.pk).filter(pk=purchase_id).exists():
                return HttpResponse(status=404)  # not this player's purchase
            try:
                refunded = shop_services.purchase_refund(
                    purchase_id, actor=_staff(request), reason=form.cleaned_data["reason"].strip()
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                return self._done(
                    request, player, f"Purchase {refunded.receipt} refunded.", messages.SUCCESS
                )
        return self._refused(request, player, "refund", form)


def player_page_urls(site: admin.AdminSite) -> list[URLPattern]:
    return PlayerPage(site).urls()
