"""The player pages: thin views that render a shell with the signed-in player's initial state.

Everything a page does after it loads goes through the JSON API under ``/api/`` (session cookie +
CSRF header) and the socket ``/api/realtime/sync`` (session cookie); these views only read through
the apps' selectors. Signup and login are ordinary POST forms that call the same account services
as ``/api/auth/signup`` and ``/api/auth/login`` (invite codes, age gate, lockout, bans, the same
per-IP rate limits) and then open a Django session (docs/decisions/0060-session-auth-for-pages.md).
"""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import password_validators_help_texts
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.exceptions import ValidationError as DRFValidationError

from accounts import services as account_services
from accounts.authentication import request_player
from accounts.items import ITEM_KINDS
from accounts.selectors import inventory_list, wallet_balance
from accounts.serializers import (
    BirthDateInputSerializer,
    ProfileSerializer,
    SignupInputSerializer,
)
from casinoclub.client_address import client_address
from casinoclub.dashboard import dashboard_snapshot
from casinoclub.errors import ApplicationError
from casinoclub.throttling import ScopedRateThrottle
from events.selectors import event_list, mission_list
from games.selectors import (
    crash_round_detail_get,
    crash_state_get,
    game_config_current,
    odds_for,
    play_limits_list,
    round_list,
)
from games.services import round_public
from gamification.selectors import achievements_for_player
from shop.selectors import (
    catalog_list,
    limited_packages_list,
    purchase_get_for_user,
    purchase_public,
)

SIGNUP_FIELDS = ("site_id", "nickname", "phone_number", "password", "invite_code", "birth_date")


def _error_message(code: str, fallback: str, extra: dict[str, Any] | None = None) -> str:
    """The envelope's message for ``code`` in the page's language (English fallback: the API's)."""
    extra = extra or {}
    if code == "login_locked":
        minutes = int(extra.get("retry_after_minutes", 1))
        return ngettext(
            "Too many failed logins. Try again in %(minutes)d minute.",
            "Too many failed logins. Try again in %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
    messages = {
        "invalid_credentials": _("The login or password is wrong."),
        "account_banned": _("This account has been suspended."),
        "invite_code_invalid": _("This invite code does not exist."),
        "invite_code_expired": _("This invite code has expired."),
        "invite_code_used_up": _("This invite code has no uses left."),
        "site_id_taken": _("This site ID is already registered."),
        "nickname_taken": _("This nickname is already taken."),
        "phone_number_taken": _("This phone number is already registered."),
        "weak_password": _("The password is too weak."),
        "age_restricted": _("You must be old enough to play to sign up."),
        "birth_date_already_set": _("Your birth date is already on file."),
        "validation_error": _("Please check the highlighted fields."),
        "rate_limited": _("Too many attempts from your network. Please wait a moment."),
    }
    return messages.get(code, fallback)


def _throttled(request: HttpRequest, scope: str) -> bool:
    """The API's per-IP rate limit of ``scope`` ("login", "signup"), shared with the API routes."""
    throttle = ScopedRateThrottle()
    return not throttle.allow_request(request, SimpleNamespace(throttle_scope=scope))  # type: ignore[arg-type]  # DRF reads only .user/.META and the view's scope


def _safe_next(request: HttpRequest, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _player_page(
    request: HttpRequest, template: str, page: str, state: dict[str, Any] | None = None
) -> HttpResponse:
    """Render a signed-in page with the shared initial state (profile, server clock) + ``state``.

    An account made without a birth date is sent to the birth-date form first (docs/decisions/0171).
    """
    profile = dict(ProfileSerializer(request.user).data)
    if profile["birth_date_required"]:
        return HttpResponseRedirect(f"{reverse('birth-date')}?{urlencode({'next': request.path})}")
    initial = {
        "page": page,
        "profile": profile,
        "server_time_ms": int(time.time() * 1000),
        **(state or {}),
    }
    context = {"page": page, "profile": profile, "initial_state": initial, **(state or {})}
    return render(request, template, context)


# ---------------------------------------------------------------- signup, login, logout


def _signup_rule_message(field: str, error: ApplicationError) -> list[str]:
    """The rule a signup field broke, in the page's language."""
    if error.code == "weak_password" and isinstance(error.details, dict):
        return [str(message) for message in error.details.get("password", [])] or [
            _error_message(error.code, error.message)
        ]
    if error.code == "age_restricted":
        minimum = int((error.details or {}).get("minimum_age", 18))
        return [_("You must be at least %(age)d years old to sign up.") % {"age": minimum}]
    return [_error_message(error.code, error.message)]


def _signup_field_errors(
    data: SignupInputSerializer, raw: dict[str, str]
) -> tuple[dict[str, list[str]], dict[str, ApplicationError]]:
    """Every field's broken rule at once: blank fields, formats, then the invite code, the age
    and the password rules (never whether a name is taken: that needs a usable code)."""
    field_errors: dict[str, list[str]] = {
        name: [_("This field is required.")] for name in SIGNUP_FIELDS if not raw[name].strip()
    }
    parsed: dict[str, Any] = {}
    if not data.is_valid():
        for field, messages in data.errors.items():
            field_errors.setdefault(field, [str(message) for message in messages])
    for name in SIGNUP_FIELDS:
        if name in field_errors:
            continue
        try:
            parsed[name] = data.fields[name].run_validation(raw[name])
        except DRFValidationError:  # already reported by is_valid
            continue
    problems = account_services.user_signup_problems(
        invite_code=parsed.get("invite_code"),
        birth_date=parsed.get("birth_date"),
        password=parsed.get("password"),
        site_id=raw["site_id"],
        nickname=raw["nickname"],
        phone_number=raw["phone_number"],
    )
    for field, error in problems.items():
        field_errors[field] = _signup_rule_message(field, error)
    return field_errors, problems


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    values = {name: request.POST.get(name, "") for name in SIGNUP_FIELDS if name != "password"}
    context: dict[str, Any] = {
        "values": values,
        "field_errors": {},
        "error": None,
        "password_rules": password_validators_help_texts(),
    }
    if request.method == "POST":
        if _throttled(request, "signup"):
            context["error"] = {
                "code": "rate_limited",
                "message": _error_message("rate_limited", ""),
            }
            return render(request, "pages/signup.html", context, status=429)
        raw = {name: request.POST.get(name, "") for name in SIGNUP_FIELDS}
        data = SignupInputSerializer(data=raw)
        field_errors, problems = _signup_field_errors(data, raw)
        if field_errors:
            context["field_errors"] = field_errors
            # one broken rule keeps its own code; several are listed field by field
            only = (
                next(iter(problems.values())) if len(field_errors) == len(problems) == 1 else None
            )
            code = only.code if only is not None else "validation_error"
            context["error"] = {"code": code, "message": _error_message(code, "Not valid.")}
            return render(request, "pages/signup.html", context, status=400)
        try:
            user = account_services.user_signup(**data.validated_data)
        except ApplicationError as error:
            context["error"] = {
                "code": error.code,
                "message": _error_message(error.code, error.message, error.extra),
            }
            if isinstance(error.details, dict):
                context["field_errors"] = error.details
            return render(request, "pages/signup.html", context, status=400)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "pages/signup.html", context)


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_page(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request)
    if request.user.is_authenticated:
        return HttpResponseRedirect(next_url)
    context: dict[str, Any] = {
        "values": {"site_id": request.POST.get("site_id", "")},
        "next": next_url,
        "error": None,
    }
    if request.method == "POST":
        if _throttled(request, "login"):
            context["error"] = {
                "code": "rate_limited",
                "message": _error_message("rate_limited", ""),
            }
            return render(request, "pages/login.html", context, status=429)
        identifier = request.POST.get("site_id", "").strip()[:32]
        password = request.POST.get("password", "")[:128]
        if not identifier or not password:
            context["error"] = {
                "code": "validation_error",
                "message": _("Enter your site ID or nickname and your password."),
            }
            return render(request, "pages/login.html", context, status=400)
        try:
            result = account_services.user_login(
                identifier=identifier, password=password, ip_address=client_address(request)
            )
        except ApplicationError as error:
            context["error"] = {
                "code": error.code,
                "message": _error_message(error.code, error.message, error.extra),
            }
            return render(request, "pages/login.html", context, status=error.status_code)
        login(request, result.user, backend="django.contrib.auth.backends.ModelBackend")
        return HttpResponseRedirect(next_url)
    return render(request, "pages/login.html", context)


@login_required
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def birth_date_page(request: HttpRequest) -> HttpResponse:
    """The birth date an account made without one gives once before it can play or buy."""
    next_url = _safe_next(request)
    player = request_player(request)
    context: dict[str, Any] = {
        "values": {"birth_date": request.POST.get("birth_date", "")},
        "next": next_url,
        "error": None,
        "field_errors": {},
    }
    if request.method == "GET":
        if player.birth_date is not None:
            return HttpResponseRedirect(next_url)
        return render(request, "pages/birth_date.html", context)
    data = BirthDateInputSerializer(data={"birth_date": request.POST.get("birth_date", "")})
    if not data.is_valid():
        context["field_errors"] = {
            field: [str(message) for message in messages] for field, messages in data.errors.items()
        }
        context["error"] = {
            "code": "validation_error",
            "message": _error_message("validation_error", "The request is not valid."),
        }
        return render(request, "pages/birth_date.html", context, status=400)
    try:
        account_services.birth_date_give(player.pk, data.validated_data["birth_date"])
    except ApplicationError as error:
        context["error"] = {
            "code": error.code,
            "message": _error_message(error.code, error.message, error.extra),
        }
        return render(request, "pages/birth_date.html", context, status=error.status_code)
    return HttpResponseRedirect(next_url)


@require_POST
@csrf_protect
def logout_page(request: HttpRequest) -> HttpResponse:
    """End the session (its row is deleted, so the page's socket closes at its next check)."""
    logout(request)
    return redirect("login")


# ---------------------------------------------------------------- player pages


@never_cache
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "pages/landing.html", {"page": "landing"})
    snapshot = dashboard_snapshot(request.user)
    profile = snapshot["profile"]
    experience_percent = (
        min(100, profile["experience"] * 100 // profile["max_experience"])
        if profile["max_experience"]
        else 100
    )
    return _player_page(
        request,
        "pages/home.html",
        "home",
        {
            "refill": dataclasses.asdict(account_services.refill_status(request.user.pk)),
            "dashboard": snapshot,
            "experience_percent": experience_percent,
            "resets_at": datetime.fromisoformat(snapshot["limits"]["resets_at"]),
        },
    )


SLOT_SYMBOL_NAMES = {
    "CHERRY": gettext_lazy("cherry"),
    "LEMON": gettext_lazy("lemon"),
    "BELL": gettext_lazy("bell"),
    "BAR": gettext_lazy("bar"),
    "SEVEN": gettext_lazy("seven"),
    "DIAMOND": gettext_lazy("diamond"),
}
SLOT_SYMBOL_ART = {"CHERRY", "LEMON", "BELL", "BAR", "SEVEN", "DIAMOND"}  # static/img/symbols/


def _multiplier_text(multiplier_x100: int) -> str:
    """``7500`` → "75×", ``250`` → "2.5×": the multiplier as players read it."""
    return f"{multiplier_x100 / 100:g}×"


def slot_paytable(odds: dict[str, Any]) -> dict[str, Any]:
    """What pays on the live slot configuration: one row per paying combination (best first) with
    its chance, and the symbols whose pair pays nothing, from the same odds the engine proves."""
    extra = odds["extra"]
    chances = {outcome["label"]: outcome["probability_percent"] for outcome in odds["outcomes"]}

    def symbol(code: str) -> dict[str, Any]:
        return {
            "code": code,
            "name": str(SLOT_SYMBOL_NAMES.get(code, code.lower())),
            "art": code.lower() if code in SLOT_SYMBOL_ART else None,
        }

    rows = []
    for kind, table in (
        ("three", extra["paytable"]["three_of_a_kind"]),
        ("pair", extra["paytable"]["pair"]),
    ):
        for code, multiplier_x100 in table.items():
            if multiplier_x100 > 0:
                rows.append(
                    {
                        **symbol(code),
                        "kind": kind,
                        "count": 3 if kind == "three" else 2,
                        "multiplier_x100": multiplier_x100,
                        "multiplier": _multiplier_text(multiplier_x100),
                        "chance_percent": chances.get(f"{kind} {code}", ""),
                    }
                )
    rows.sort(key=lambda row: (-row["multiplier_x100"], row["kind"], row["code"]))
    pair_table = extra["paytable"]["pair"]
    return {
        "rows": rows,
        "pairs_paying": [symbol(code) for code in extra["symbols"] if pair_table.get(code, 0) > 0],
        "pairs_not_paying": [
            symbol(code) for code in extra["symbols"] if pair_table.get(code, 0) <= 0
        ],
        "three_of_a_kind": dict(extra["paytable"]["three_of_a_kind"]),
        "pair": dict(pair_table),
        "symbols": [symbol(code) for code in extra["symbols"]],
    }


def _game_page(
    request: HttpRequest, template: str, game: str, state: dict[str, Any]
) -> HttpResponse:
    """A game page: its state plus every game's limits today (plays left, reset, bet range, a
    running cool-off), so the page shows them and disables play with the reason before a click."""
    player = request_player(request)
    limits = play_limits_list(player)
    game_limits = limits["games"][game]
    return _player_page(
        request,
        template,
        game,
        {
            **state,
            "limits": limits,
            "game_limits": game_limits,
            "resets_at": datetime.fromisoformat(limits["resets_at"]),
            "play_reason": _play_stopped_reason(limits, game_limits, wallet_balance(player.pk)),
        },
    )


def _play_stopped_reason(
    limits: dict[str, Any], game_limits: dict[str, Any], gold: int
) -> str | None:
    """Why this game cannot be played right now (the same rules as static/js/limits.js), or None.

    The order is the server's: a cool-off or self-exclusion, then the daily limit, then gold.
    """
    block = limits["play_block"]
    if block is not None:
        until = date_format(
            timezone.localtime(datetime.fromisoformat(block["until"])), "DATETIME_FORMAT"
        )
        if block["kind"] == "self_exclusion":
            return _("Play is paused: your self-exclusion runs until %(until)s.") % {"until": until}
        return _("Play is paused: your cool-off runs until %(until)s.") % {"until": until}
    if game_limits["plays_left"] == 0:
        reset = date_format(
            timezone.localtime(datetime.fromisoformat(game_limits["resets_at"])), "TIME_FORMAT"
        )
        return _("You have played all %(limit)s rounds of this game today. More from %(time)s.") % {
            "limit": game_limits["daily_limit"],
            "time": reset,
        }
    if gold < game_limits["min_bet"]:
        return _("You need at least %(need)s gold to play (you have %(gold)s).") % {
            "need": f"{game_limits['min_bet']:,}",
            "gold": f"{gold:,}",
        }
    return None


@login_required
@never_cache
def slot(request: HttpRequest) -> HttpResponse:
    odds = odds_for("slot")
    return _game_page(
        request, "pages/slot.html", "slot", {"odds": odds, "paytable": slot_paytable(odds)}
    )


@login_required
@never_cache
def crash(request: HttpRequest) -> HttpResponse:
    """The shared crash round: the page starts from the round's state (phase, times, bets, the
    last 20 busts) and the player's own bet in it, then follows the ``crash`` socket group. The
    curve is drawn from the round's start time and growth function on the server's clock."""
    config = game_config_current("crash")
    state = crash_state_get()
    mine = None
    if state["round"] is not None:
        bet = (
            round_list(request_player(request).pk, "crash")
            .filter(crash_round_id=state["round"]["id"])
            .select_related("fair_seed", "config")
            .first()
        )
        mine = round_public(bet) if bet is not None else None
    return _game_page(
        request,
        "pages/crash.html",
        "crash",
        {
            "crash": {
                "growth_per_ms": config.engine["growth_per_ms"],
                "max_multiplier_x100": config.engine["max_multiplier_x100"],
                "house_edge_percent": config.engine["house_edge_bp"] / 100,
            },
            "crash_state": state,
            "my_bet": mine,
        },
    )


@login_required
@never_cache
def crash_round(request: HttpRequest, crash_round_id: int) -> HttpResponse:
    """A finished shared round with what checks it; the browser recomputes it (crash_round.js)."""
    detail = crash_round_detail_get(crash_round_id)
    if detail is None:
        raise Http404("No such finished crash round.")
    return _player_page(request, "pages/crash_round.html", "crash", {"crash_round": detail})


@login_required
@never_cache
def gacha(request: HttpRequest) -> HttpResponse:
    odds = odds_for("gacha")
    extra = odds["extra"]
    rates = [
        {"rarity": name, "name": _rarity_name(name), "percent": round(rate * 100, 2)}
        for name, rate in extra["base_rates"].items()
    ]
    return _game_page(
        request,
        "pages/gacha.html",
        "gacha",
        {
            "gacha": {
                "price": extra["price"],
                "ten_pull_price": extra["ten_pull_price"],
                "pity_threshold": extra["pity_threshold"],
                "rates": rates,
                "rtp_percent": odds["rtp_percent"],
                # Names of the items a pull can grant, for the page's results (codes never shown).
                "item_names": {row["item_code"]: row["name"] for row in extra["item_drop_rates"]},
            },
            "inventory": inventory_list(request_player(request).pk),
        },
    )


@login_required
@never_cache
def rps(request: HttpRequest) -> HttpResponse:
    win_x100 = game_config_current("rps").engine["win_multiplier_x100"]
    return _game_page(
        request,
        "pages/rps.html",
        "rps",
        {"odds": odds_for("rps"), "win_multiplier": f"{win_x100 / 100:.2f}"},
    )


@login_required
@never_cache
def shop(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    return _player_page(
        request,
        "pages/shop.html",
        "shop",
        {
            "products": catalog_list(request_player(request), now),
            "packages": limited_packages_list(request_player(request), now),
        },
    )


@login_required
@never_cache
def events(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    return _player_page(
        request,
        "pages/events.html",
        "events",
        {
            "events": event_list(request_player(request).pk, now),
            "missions": mission_list(request_player(request).pk, None, timezone.localdate(now)),
        },
    )


@login_required
@never_cache
def achievements(request: HttpRequest) -> HttpResponse:
    return _player_page(
        request,
        "pages/achievements.html",
        "achievements",
        {"achievements": achievements_for_player(request_player(request).pk)},
    )


@login_required
@never_cache
def history(request: HttpRequest) -> HttpResponse:
    return _player_page(request, "pages/history.html", "history")


@login_required
@never_cache
def profile(request: HttpRequest) -> HttpResponse:
    return _player_page(request, "pages/profile.html", "profile")


@login_required
@never_cache
def notifications(request: HttpRequest) -> HttpResponse:
    """The inbox (liveops): the list is read from /api/notifications by the page's script."""
    return _player_page(request, "pages/notifications.html", "notifications")


@login_required
@never_cache
def receipt(request: HttpRequest, receipt: str) -> HttpResponse:
    """One purchase's receipt (id, signature, status), for its buyer only: anyone else gets 404."""
    purchase = purchase_get_for_user(request_player(request).pk, receipt[:40])
    if purchase is None:
        raise Http404("No such purchase.")
    public = purchase_public(purchase)
    status_names = {
        "pending": _("Pending: waiting for the payment provider"),
        "success": _("Paid"),
        "failed": _("Failed: nothing was charged"),
        "refunded": _("Refunded"),
    }
    return _player_page(
        request,
        "pages/receipt.html",
        "shop",
        {
            "purchase": public,
            "status_name": status_names.get(public["status"], public["status"]),
            "is_real_money": public["currency"] != "GOLD",
        },
    )


@login_required
@never_cache
def inventory(request: HttpRequest) -> HttpResponse:
    """The player's items, one equip slot per kind."""
    items = inventory_list(request_player(request).pk)
    equipped = {item["kind"]: item for item in items if item["is_equipped"]}
    slots = [
        {"kind": kind, "name": str(name), "item": equipped.get(kind)}
        for kind, name in ITEM_KINDS.items()
    ]
    return _player_page(
        request, "pages/inventory.html", "inventory", {"items": items, "slots": slots}
    )


def _public_page(
    request: HttpRequest, template: str, page: str, state: dict[str, Any]
) -> HttpResponse:
    """A page anyone may open; a signed-in player also gets the shared initial state."""
    if request.user.is_authenticated:
        return _player_page(request, template, page, state)
    return render(request, template, {"page": page, **state})


@never_cache
def verify(request: HttpRequest) -> HttpResponse:
    """Recompute a round in the browser (static/js/fair.js): public, the server is not asked."""
    # Names of the items a gacha round can grant, so a recomputed pull reads as players know it.
    item_names = {
        row["item_code"]: row["name"] for row in odds_for("gacha")["extra"]["item_drop_rates"]
    }
    return _public_page(request, "pages/verify.html", "verify", {"item_names": item_names})


def _symbol_name(symbol: str) -> str:
    names = {
        "CHERRY": _("Cherry"),
        "LEMON": _("Lemon"),
        "BELL": _("Bell"),
        "BAR": _("Bar"),
        "SEVEN": _("Seven"),
        "DIAMOND": _("Diamond"),
    }
    return names.get(symbol, symbol.capitalize())


def _rarity_name(rarity: str) -> str:
    names = {
        "common": _("Common"),
        "rare": _("Rare"),
        "epic": _("Epic"),
        "legendary": _("Legendary"),
    }
    return names.get(rarity, rarity.capitalize())


@never_cache
def odds(request: HttpRequest) -> HttpResponse:
    """Every game's published odds and paytable, from the live configuration; public."""
    slot_odds, crash_odds = odds_for("slot"), odds_for("crash")
    rps_odds, gacha_odds = odds_for("rps"), odds_for("gacha")
    paytable = slot_odds["extra"]["paytable"]
    slot_rows = [
        {
            "symbol": _symbol_name(symbol),
            "three": paytable["three_of_a_kind"].get(symbol, 0) / 100,
            "pair": paytable["pair"].get(symbol, 0) / 100,
        }
        for symbol in slot_odds["extra"]["symbols"]
    ]
    gacha_extra = gacha_odds["extra"]
    rarity_rows = [
        {
            "name": _rarity_name(name),
            "base_percent": round(rate * 100, 2),
            "effective_percent": round(gacha_extra["effective_rates"][name] * 100, 2),
        }
        for name, rate in gacha_extra["base_rates"].items()
    ]
    rps_labels = {"win": _("Win"), "draw": _("Draw (bet returned)"), "loss": _("Loss")}
    state = {
        "slot": {"odds": slot_odds, "rows": slot_rows},
        "crash": {
            "odds": crash_odds,
            "house_edge_percent": crash_odds["extra"]["house_edge_bp"] / 100,
            "instant_bust_percent": round(crash_odds["extra"]["instant_bust_probability"] * 100, 2),
        },
        "rps": {
            "odds": rps_odds,
            "rows": [
                {
                    "label": rps_labels.get(row["label"], row["label"]),
                    "percent": row["probability_percent"],
                    "multiplier": row["multiplier_x100"] / 100,
                }
                for row in rps_odds["outcomes"]
            ],
        },
        "gacha": {
            "odds": gacha_odds,
            "rarities": rarity_rows,
            "items": gacha_extra["item_drop_rates"],
            "gold_per_pull": round(gacha_extra["expected_gold_per_pull"], 2),
        },
    }
    return _public_page(request, "pages/odds.html", "odds", {"games": state})


# ---------------------------------------------------------------- account: e-mail, export, deletion


@login_required
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def account_page(request: HttpRequest) -> HttpResponse:
    """The player's account: e-mail address (verification), export my data, delete my account."""
    from django.conf import settings
    from django.utils.translation import get_language

    player = request_player(request)
    state: dict[str, Any] = {
        "grace_days": settings.ACCOUNT_DELETION_GRACE_DAYS,
        "email_value": player.email,
        "email_error": None,
        "email_sent": False,
        "delete_error": None,
    }
    status_code = 200
    if request.method == "POST" and request.POST.get("action") == "email":
        email = request.POST.get("email", "")[:254].strip()
        state["email_value"] = email
        try:
            from django.core.validators import validate_email

            validate_email(email)
            account_services.user_email_set(player, email, language=get_language() or "")
            state["email_sent"] = True
        except ApplicationError as error:
            state["email_error"] = _("This e-mail address is already registered.")
            status_code = error.status_code
        except Exception:  # Django's ValidationError from validate_email
            state["email_error"] = _("Enter a valid e-mail address.")
            status_code = 400
    elif request.method == "POST" and request.POST.get("action") == "delete":
        try:
            due = account_services.account_deletion_request(
                player,
                password=request.POST.get("password", "")[:128],
                ip_address=client_address(request),
            )
        except ApplicationError as error:
            state["delete_error"] = (
                _("The password is wrong.")
                if error.code == "password_incorrect"
                else _error_message(error.code, error.message, error.extra)
            )
            status_code = error.status_code
        else:
            logout(request)
            return render(
                request,
                "pages/account_deleted.html",
                {"page": "plain", "due": due, "grace_days": settings.ACCOUNT_DELETION_GRACE_DAYS},
            )
    response = _player_page(request, "pages/account.html", "account", state)
    response.status_code = status_code if response.status_code == 200 else response.status_code
    return response


@never_cache
def email_verify_page(request: HttpRequest, token: str) -> HttpResponse:
    """The link mailed to a new address: verifies it (once) and says so."""
    try:
        account_services.user_email_verify(token[:500])
        verified = True
    except ApplicationError:
        verified = False
    return render(
        request,
        "pages/email_verified.html",
        {"page": "plain", "verified": verified},
        status=200 if verified else 400,
    )
