"""Authorization matrix: every route of the URLconf × method × caller, with its exact status.

The routes come from the URL resolver itself, so a new route without an entry in ``ROUTES`` (or a
rule below) fails ``test_every_route_has_an_entry_and_no_entry_is_stale`` with what to add. How
the table works: ``docs/decisions/0071-authorization-matrix.md``.

Callers: ``anonymous``; ``player`` (owns the objects in the path or body); ``other_player``
(another player, calling with the player's object ids); four staff members: ``view_only_staff``
(every model's view permission, nothing else), ``support`` and ``economy`` (the roles of
``accounts.roles``) and ``superuser``. Logged-in callers carry both a Bearer token (API) and a
session (pages, admin).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts.roles import ECONOMY, ROLE_PERMISSIONS, SUPPORT
from accounts.tests.factories import PASSWORD, model_view_permissions
from accounts.tokens import token_pair_for_user
from events import services as event_services
from events.tests.factories import EventFactory
from games import services as game_services
from games.models import CrashRound
from games.selectors import game_config_current
from games.tests.crash_helpers import chain_where_first_round
from games.tests.factories import funded_player
from liveops.models import Notification
from shop import services as shop_services
from shop.tests.factories import GoldPackFactory, ItemFactory, LimitedPackageFactory

ANONYMOUS, PLAYER, OTHER = "anonymous", "player", "other_player"
VIEW_ONLY, SUPERUSER = "view_only_staff", "superuser"
# SUPPORT ("support") and ECONOMY ("economy") are the role names themselves.
STAFF_CALLERS = (VIEW_ONLY, SUPPORT, ECONOMY, SUPERUSER)
CALLERS = (ANONYMOUS, PLAYER, OTHER, *STAFF_CALLERS)
NOT_STAFF = (ANONYMOUS, PLAYER, OTHER)
MISSING_ID = 987_654_321


class World:
    """Objects owned by ``player``, each created on first use (most calls need few of them)."""

    def __init__(self) -> None:
        self.users: dict[str, Any] = _LazyUsers()

    @property
    def player(self) -> Any:
        return self.users[PLAYER]

    @cached_property
    def slot_round_id(self) -> int:
        return int(game_services.slot_spin(self.player, 10).pk)

    @cached_property
    def crash_betting(self) -> bool:
        """The shared crash round takes bets (a chain whose first round runs 38 s or more)."""
        chain_where_first_round(lambda crash: crash >= 1000)
        game_services.crash_loop_step()
        return True

    @cached_property
    def crash_round_id(self) -> int:
        """The player's bet in the running shared round."""
        assert self.crash_betting
        bet = game_services.crash_bet(self.player, 10, None)
        CrashRound.objects.update(betting_ends_at=timezone.now())
        game_services.crash_loop_step()
        return int(bet.pk)

    @cached_property
    def crash_finished_round_id(self) -> int:
        assert self.crash_betting
        round_ = CrashRound.objects.get()
        game_services.crash_loop_step(now=round_.betting_ends_at)
        round_.refresh_from_db()
        game_services.crash_loop_step(now=round_.bust_at)
        return int(round_.pk)

    @cached_property
    def receipt(self) -> str:
        return str(shop_services.shop_buy(self.player, GoldPackFactory().code).receipt)

    @cached_property
    def event_id(self) -> int:
        event = EventFactory()
        event_services.event_join(self.player, event.pk)
        return int(event.pk)

    @cached_property
    def item_code(self) -> str:
        return str(ItemFactory().code)

    @cached_property
    def package_code(self) -> str:
        return str(LimitedPackageFactory().code)

    @cached_property
    def notification_id(self) -> int:
        notification = Notification.objects.create(
            user=self.player, category="rewards", title="matrix", reward_gold=10
        )
        return int(notification.pk)


class _LazyUsers(dict[str, Any]):
    """player, other_player and staff, each a funded account made when first asked for."""

    def __missing__(self, caller: str) -> Any:
        if caller == ANONYMOUS:
            raise KeyError(caller)
        is_staff = caller in STAFF_CALLERS
        user = funded_player(gold=100_000, is_staff=is_staff, is_superuser=caller == SUPERUSER)
        if caller == VIEW_ONLY:
            user.user_permissions.set(model_view_permissions())
        if caller in (SUPPORT, ECONOMY):
            user.groups.add(Group.objects.get(name=caller))
        self[caller] = user
        return user

    def get(self, caller: str, default: Any = None) -> Any:  # type: ignore[override]
        return default if caller == ANONYMOUS else self[caller]


Body = Callable[[World, str], dict[str, Any]]
Kwargs = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Rule:
    """The expected status per caller for one route and method, and how to call it."""

    expected: dict[str, int]
    kwargs: Kwargs | None = None  # path parameters
    body: Body | None = None
    query: str = ""
    idempotent: bool = False  # send an Idempotency-Key
    missing_kwargs: Kwargs | None = None  # the same route for an object that does not exist
    missing_body: Body | None = None
    form: bool = False  # an HTML form post (pages, admin) rather than JSON
    notes: dict[str, str] = field(default_factory=dict)


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(CALLERS, status)


def logged_in(status: int) -> dict[str, int]:
    """A private API route: 401 ``not_authenticated`` for anonymous callers."""
    return {ANONYMOUS: 401, **dict.fromkeys(CALLERS[1:], status)}


def owned(owner: int, not_owner: int = 404) -> dict[str, int]:
    """The player's object: anyone else gets what a missing object gets (nothing leaks)."""
    return {ANONYMOUS: 401, PLAYER: owner, **dict.fromkeys((OTHER, *STAFF_CALLERS), not_owner)}


def staff_only(status: int, *roles: str) -> dict[str, int]:
    """A staff API route: ``status`` for the superuser and the ``roles`` holding its permission;
    403 ``permission_denied`` for players and every other staff member."""
    allowed = {SUPERUSER, *roles}
    return {
        ANONYMOUS: 401,
        **{caller: status if caller in allowed else 403 for caller in CALLERS[1:]},
    }


def admin_page(status: int = 200, *roles: str) -> dict[str, int]:
    """Django admin: non-staff callers are sent to the admin login (302); ``status`` for the
    superuser and the staff ``roles`` holding the view's permission, 403 for other staff."""
    allowed = {SUPERUSER, *roles}
    return {
        **dict.fromkeys(NOT_STAFF, 302),
        **{caller: status if caller in allowed else 403 for caller in STAFF_CALLERS},
    }


def player_page(status: int = 200) -> dict[str, int]:
    """A player page: anonymous callers are sent to ``/login/?next=...`` (302)."""
    return {ANONYMOUS: 302, **dict.fromkeys(CALLERS[1:], status)}


def signup_body(world: World, caller: str) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:8]
    return {
        "site_id": f"new{suffix}",
        "nickname": f"N{suffix}",
        "phone_number": f"010{int(suffix, 16) % 10**8:08d}",
        "password": PASSWORD,
        "invite_code": "5858",
        "birth_date": "1990-01-01",
    }


def player_login(world: World, caller: str) -> dict[str, Any]:
    return {"site_id": world.player.site_id, "password": PASSWORD}


def player_refresh(world: World, caller: str) -> dict[str, Any]:
    return {"refresh": token_pair_for_user(world.player)["refresh"]}


def constant(body: dict[str, Any]) -> Body:
    return lambda world, caller: body


def player_id(world: World) -> dict[str, Any]:
    return {"user_id": world.player.pk}


def missing_user(world: World) -> dict[str, Any]:
    return {"user_id": MISSING_ID}


EMPTY = constant({})

# Route name → method → rule. Admin model URLs are one group (``ADMIN_SITE_GROUP``); player pages
# of ``casinoclub/pages`` are listed here by name like any other route.
ROUTES: dict[str, dict[str, Rule]] = {
    # ---- accounts (public auth routes answer everyone alike)
    "auth-signup": {"POST": Rule(everyone(201), body=signup_body)},
    "auth-login": {"POST": Rule(everyone(200), body=player_login)},
    "auth-refresh": {"POST": Rule(everyone(200), body=player_refresh)},
    # The player's refresh token: only its owner may revoke it.
    "auth-logout": {"POST": Rule(owned(204, 403), body=player_refresh)},
    "auth-logout-all": {"POST": Rule(logged_in(204))},
    # The caller's own password (Bearer caller: a fresh token pair).
    "auth-password": {
        "POST": Rule(
            logged_in(200),
            body=constant({"current_password": PASSWORD, "new_password": "Matrix-new-passw0rd!"}),
        )
    },
    "invite-validate": {"POST": Rule(everyone(200), body=constant({"invite_code": "5858"}))},
    "users-me": {"GET": Rule(logged_in(200)), "PATCH": Rule(logged_in(200), body=EMPTY)},
    # Every caller's account has a birth date on file already: it is given once.
    "users-me-birth-date": {
        "POST": Rule(
            {ANONYMOUS: 401, **dict.fromkeys(CALLERS[1:], 409)},
            body=constant({"birth_date": "1990-01-01"}),
            notes=dict.fromkeys(CALLERS[1:], "birth_date_already_set"),
        )
    },
    # Equipping needs the item: nobody here owns a gold frame (409 item_not_owned, nothing set).
    "users-me-items": {"GET": Rule(logged_in(200))},
    "users-me-items-equip": {
        "POST": Rule(logged_in(409), body=constant({"item_code": "frame_gold"}))
    },
    "users-me-items-unequip": {"POST": Rule(logged_in(200), body=constant({"kind": "frame"}))},
    # A public profile: any logged-in player may read it; a missing id is 404.
    "users-public": {
        "GET": Rule(logged_in(200), kwargs=player_id, missing_kwargs=missing_user),
    },
    # Within the staff limit: the gold moves (a role without accounts.grant_gold gets 403).
    "admin-users-gold": {
        "POST": Rule(
            staff_only(200, ECONOMY),
            kwargs=player_id,
            body=constant({"amount": 100, "reason": "matrix"}),
            idempotent=True,
        )
    },
    # ---- e-mail, password reset, refill, export, deletion
    # Public and always 202: whether the address exists is never told.
    "auth-password-reset": {
        "POST": Rule(everyone(202), body=constant({"email": "someone@example.com"}))
    },
    # A forged link: 400 reset_link_invalid for everyone, nothing changes.
    "auth-password-reset-confirm": {
        "POST": Rule(
            everyone(400),
            body=constant({"uid": "MQ", "token": "forged-token", "new_password": PASSWORD}),
        )
    },
    "users-me-email": {
        "PUT": Rule(logged_in(200), body=lambda world, caller: {"email": f"{caller}@example.com"})
    },
    # Nobody here has an address waiting for verification.
    "users-me-email-resend": {
        "POST": Rule(logged_in(409), notes=dict.fromkeys(CALLERS[1:], "no_email_to_verify"))
    },
    "users-email-verify": {"POST": Rule(everyone(400), body=constant({"token": "forged"}))},
    # Every caller is funded far over the refill threshold.
    "users-me-refill": {
        "GET": Rule(logged_in(200)),
        "POST": Rule(
            logged_in(409),
            body=EMPTY,
            idempotent=True,
            notes=dict.fromkeys(CALLERS[1:], "refill_over_threshold"),
        ),
    },
    "users-me-export": {"GET": Rule(logged_in(200))},
    # The caller's own account, confirmed with the caller's own password.
    "users-me-delete": {"POST": Rule(logged_in(200), body=constant({"password": PASSWORD}))},
    "responsible-play": {"GET": Rule(logged_in(200))},
    "responsible-play-purchase-limit": {
        "POST": Rule(logged_in(200), body=constant({"daily_purchase_limit_cents": 10_000}))
    },
    "responsible-play-cool-off": {"POST": Rule(logged_in(200), body=constant({"duration": "24h"}))},
    "responsible-play-self-exclusion": {"POST": Rule(logged_in(200), body=constant({"days": 30}))},
    # ---- games
    "games-slot-spin": {"POST": Rule(logged_in(200), body=constant({"bet": 10}), idempotent=True)},
    "games-rps-play": {
        "POST": Rule(logged_in(200), body=constant({"bet": 10, "choice": "rock"}), idempotent=True)
    },
    "games-gacha-pull": {
        "POST": Rule(logged_in(200), body=constant({"count": 1}), idempotent=True)
    },
    "games-gacha-config": {"GET": Rule(logged_in(200))},
    "games-gacha-inventory": {"GET": Rule(logged_in(200))},
    "games-crash-bet": {
        "POST": Rule(
            logged_in(200),
            body=lambda world, caller: {"bet": 10} if world.crash_betting else {},
            idempotent=True,
        )
    },
    "games-crash-state": {"GET": Rule(logged_in(200))},
    "games-crash-round": {
        "GET": Rule(
            logged_in(200),
            kwargs=lambda world: {"crash_round_id": world.crash_finished_round_id},
        )
    },
    "games-crash-cashout": {
        "POST": Rule(
            owned(200),
            body=lambda world, caller: {"round_id": world.crash_round_id},
            missing_body=constant({"round_id": MISSING_ID}),
            idempotent=True,
        )
    },
    "games-limits": {"GET": Rule(logged_in(200))},
    "games-fairness": {"GET": Rule(logged_in(200))},
    "games-fairness-rotate": {"POST": Rule(logged_in(200), body=EMPTY)},
    "games-round-verify": {
        "GET": Rule(
            owned(200),
            kwargs=lambda world: {"round_id": world.slot_round_id},
            missing_kwargs=lambda world: {"round_id": MISSING_ID},
        )
    },
    "games-stats-me": {"GET": Rule(logged_in(200))},
    "games-history": {"GET": Rule(logged_in(200))},
    "games-leaderboard": {"GET": Rule(logged_in(200))},
    # Published odds are public, before login.
    "games-odds": {"GET": Rule(everyone(200), kwargs=lambda world: {"game": "slot"})},
    # ---- shop
    "shop-catalog": {"GET": Rule(logged_in(200))},
    "shop-buy": {
        "POST": Rule(
            logged_in(200),
            body=lambda world, caller: {"product_code": world.item_code},
            idempotent=True,
        )
    },
    "shop-transactions": {"GET": Rule(logged_in(200))},
    "shop-settle": {
        "POST": Rule(
            owned(200),
            kwargs=lambda world: {"receipt": world.receipt},
            missing_kwargs=lambda world: {"receipt": "R-does-not-exist"},
        )
    },
    "shop-limited-packages": {"GET": Rule(logged_in(200))},
    "shop-buy-limited": {
        "POST": Rule(
            logged_in(200),
            body=lambda world, caller: {"package_code": world.package_code},
            idempotent=True,
        )
    },
    # Signed by the payment provider, not by a user: without a signature everyone gets 401.
    "shop-webhook-payment": {"POST": Rule(everyone(401), body=constant({"type": "x"}))},
    "shop-webhook-stripe": {"POST": Rule(everyone(401), body=constant({"type": "x"}))},
    "admin-stats": {"GET": Rule(staff_only(200, ECONOMY))},
    "dashboard": {"GET": Rule(logged_in(200))},
    # ---- events (events are shared; participation is per caller)
    "events-list": {"GET": Rule(logged_in(200))},
    "events-detail": {
        "GET": Rule(
            logged_in(200),
            kwargs=lambda world: {"event_id": world.event_id},
            missing_kwargs=lambda world: {"event_id": MISSING_ID},
        )
    },
    "events-join": {
        "POST": Rule(
            logged_in(200),
            body=lambda world, caller: {"event_id": world.event_id},
            idempotent=True,
        )
    },
    # The player joined (not completed: 409 not_completed); the others never joined (not_joined).
    "events-claim": {
        "POST": Rule(
            {ANONYMOUS: 401, **dict.fromkeys(CALLERS[1:], 409)},
            kwargs=lambda world: {"event_id": world.event_id},
            body=EMPTY,
            idempotent=True,
            notes={PLAYER: "not_completed", **dict.fromkeys((OTHER, *STAFF_CALLERS), "not_joined")},
        )
    },
    "events-missions": {"GET": Rule(logged_in(200), kwargs=lambda world: {"period": "daily"})},
    "events-missions-claim": {
        "POST": Rule(
            logged_in(404),
            kwargs=lambda world: {"mission_id": MISSING_ID},
            body=EMPTY,
            idempotent=True,
        )
    },
    "public-events": {"GET": Rule(everyone(200))},
    # ---- progression
    "streak-status": {"GET": Rule(logged_in(200))},
    "streak-preview": {"GET": Rule(logged_in(200))},
    "streak-claim": {"POST": Rule(logged_in(200), body=EMPTY, idempotent=True)},
    "streak-history": {"GET": Rule(logged_in(200))},
    "vip-status": {"GET": Rule(logged_in(200))},
    "vip-claim": {"POST": Rule(logged_in(200), body=EMPTY, idempotent=True)},
    "achievements-list": {"GET": Rule(logged_in(200))},
    "achievements-me": {"GET": Rule(logged_in(200))},
    "battle-pass": {"GET": Rule(logged_in(200))},
    "battle-pass-claim": {
        "POST": Rule(logged_in(404), body=constant({"tier": 1, "track": "free"}), idempotent=True)
    },
    # ---- live operations: the inbox (a notification is its player's; others get 404)
    "notifications-list": {"GET": Rule(logged_in(200))},
    "notifications-read-all": {"POST": Rule(logged_in(200))},
    "notifications-preferences": {
        "GET": Rule(logged_in(200)),
        "PATCH": Rule(logged_in(200), body=constant({"email_marketing": False})),
    },
    "notification-read": {
        "POST": Rule(
            owned(200),
            kwargs=lambda world: {"notification_id": world.notification_id},
            missing_kwargs=lambda world: {"notification_id": MISSING_ID},
        )
    },
    "notification-claim": {
        "POST": Rule(
            owned(200),
            kwargs=lambda world: {"notification_id": world.notification_id},
            missing_kwargs=lambda world: {"notification_id": MISSING_ID},
            body=EMPTY,
            idempotent=True,
        )
    },
    # ---- platform
    "schema": {"GET": Rule(everyone(200))},
    "swagger-ui": {"GET": Rule(everyone(200))},
    "telemetry-events": {
        "POST": Rule(
            logged_in(202),
            body=lambda world, caller: {
                "events": [{"name": "app.open", "ts": timezone.now().isoformat()}]
            },
        )
    },
    "metrics-global": {"GET": Rule(everyone(200))},
    # Served over ASGI only (daphne); the same answer for every caller through WSGI.
    "metrics-stream": {"GET": Rule(everyone(503))},
    "health": {"GET": Rule(everyone(200))},
    "prometheus-django-metrics": {"GET": Rule(everyone(200))},
    # ---- custom admin views (Django admin: non-staff → the admin login; staff without the
    # view's permission → 403)
    "admin:accounts_user_gold": {"GET": Rule(admin_page(200, ECONOMY), kwargs=player_id)},
    # Every staff member's own password (it also ends their other sessions and tokens).
    "admin:password_change": {"GET": Rule(admin_page(200, VIEW_ONLY, SUPPORT, ECONOMY))},
    # Any /api/ path no route matches: the JSON envelope for everyone.
    "api-not-found": {"GET": Rule(everyone(404), kwargs=lambda world: {"path": "no/such/route"})},
    "admin:accounts_user_import": {"GET": Rule(admin_page())},
    # An unknown import token: 404 for staff who may import; nobody else learns whether it exists.
    "admin:accounts_user_import_status": {
        "GET": Rule(admin_page(404), kwargs=lambda world: {"token": "no-such-import"})
    },
    # Django's password form for a user: revokes the user's tokens and sessions and is audited;
    # only who may change users (superuser).
    "admin:auth_user_password_change": {
        "GET": Rule(admin_page(), kwargs=lambda world: {"id": world.player.pk})
    },
    "admin:accounts_invitecode_generate": {"GET": Rule(admin_page())},
    "admin:accounts_auditlogentry_export": {"GET": Rule(admin_page(200, VIEW_ONLY))},
    "admin:shop_economy_dashboard": {"GET": Rule(admin_page(200, ECONOMY))},
    # Recompute every player's metrics now (audited): staff holding liveops.recompute_playermetrics.
    "admin:liveops_playermetrics_recompute": {
        "POST": Rule(admin_page(303, ECONOMY), body=EMPTY, form=True)
    },
    # The analytics dashboards: analytics.view_analytics (the economy role).
    "admin:analytics_dashboard": {"GET": Rule(admin_page(200, ECONOMY))},
    # The player page: every staff role that may view users; each action its own permission
    # (a note: support and economy; a view-only account may not write one). An empty note: the
    # permitted get the page again with the error (400), the rest 403, nothing is written.
    "admin:player_page": {
        "GET": Rule(admin_page(200, VIEW_ONLY, SUPPORT, ECONOMY), kwargs=player_id)
    },
    # Game configuration drafts (a form per game) and the review actions: economy may draft and
    # activate; approving an out-of-band version is the administrator's (superuser here).
    # The live-ops calendar: staff who may view events, seasons, packages or products.
    "admin:live_ops_calendar": {"GET": Rule(admin_page(200, VIEW_ONLY, ECONOMY))},
    "admin:games_gameconfig_add": {"GET": Rule(admin_page(200, ECONOMY))},
    "admin:games_gameconfig_change": {
        "GET": Rule(
            admin_page(200, VIEW_ONLY, ECONOMY),
            kwargs=lambda world: {"object_id": game_config_current("slot").pk},
        )
    },
    "admin:games_gameconfig_draft": {
        "GET": Rule(admin_page(200, ECONOMY), kwargs=lambda world: {"game": "slot"})
    },
    "admin:games_gameconfig_review": {
        "POST": Rule(
            admin_page(400, ECONOMY),
            kwargs=lambda world: {"config_id": game_config_current("slot").pk},
            body=constant({"action": "rollback"}),  # of the live version: refused
            form=True,
        )
    },
    # Setting a crash chain's salt (once, audited): games.set_crash_chain_salt, held by no role
    # but the administrator's (superuser here); a chain whose salt is not set yet.
    "admin:games_crashchain_salt": {
        "GET": Rule(
            admin_page(),
            kwargs=lambda world: {"chain_id": game_services.crash_chain_create(1).pk},
        )
    },
    "admin:player_page_action": {
        "POST": Rule(
            admin_page(400, SUPPORT, ECONOMY),
            kwargs=lambda world: {"user_id": world.player.pk, "action": "note"},
            body=constant({"text": ""}),
            form=True,
        )
    },
    # ---- player pages (casinoclub/pages): session login
    "home": {"GET": Rule(everyone(200))},
    # A logged-in caller is sent on from the login and signup pages.
    "login": {"GET": Rule({ANONYMOUS: 200, **dict.fromkeys(CALLERS[1:], 302)})},
    "signup": {"GET": Rule({ANONYMOUS: 200, **dict.fromkeys(CALLERS[1:], 302)})},
    "logout": {"POST": Rule(everyone(302), form=True)},
    "play-slot": {"GET": Rule(player_page())},
    "play-crash": {"GET": Rule(player_page())},
    "play-crash-round": {
        "GET": Rule(
            player_page(),
            kwargs=lambda world: {"crash_round_id": world.crash_finished_round_id},
        )
    },
    "play-gacha": {"GET": Rule(player_page())},
    "play-rps": {"GET": Rule(player_page())},
    "shop": {"GET": Rule(player_page())},
    "events": {"GET": Rule(player_page())},
    "achievements": {"GET": Rule(player_page())},
    "history": {"GET": Rule(player_page())},
    "profile": {"GET": Rule(player_page())},
    "notifications": {"GET": Rule(player_page())},
    # Only an account without a birth date stays on the form; the others are sent on (302).
    "birth-date": {"GET": Rule(player_page(302))},
    "inventory": {"GET": Rule(player_page())},
    # A receipt is its buyer's: anyone else gets what a missing receipt gets.
    "shop-receipt": {
        "GET": Rule(
            {ANONYMOUS: 302, PLAYER: 200, **dict.fromkeys((OTHER, *STAFF_CALLERS), 404)},
            kwargs=lambda world: {"receipt": world.receipt},
            missing_kwargs=lambda world: {"receipt": "R-does-not-exist"},
        )
    },
    "verify": {"GET": Rule(everyone(200))},
    "odds": {"GET": Rule(everyone(200))},
    "account": {"GET": Rule(player_page())},
    # The reset and verification pages are for anyone holding the link; a forged one says so.
    "email-verify": {"GET": Rule(everyone(400), kwargs=lambda world: {"token": "forged"})},
    "password-reset": {
        "GET": Rule(everyone(200)),
        "POST": Rule(everyone(302), body=constant({"email": "someone@example.com"}), form=True),
    },
    "password-reset-sent": {"GET": Rule(everyone(200))},
    "password-reset-confirm": {
        "GET": Rule(everyone(200), kwargs=lambda world: {"uidb64": "MQ", "token": "forged"}),
        "POST": Rule(
            everyone(200), kwargs=lambda world: {"uidb64": "MQ", "token": "forged"}, form=True
        ),
    },
    "password-reset-complete": {"GET": Rule(everyone(200))},
    "set_language": {"POST": Rule(everyone(302), body=constant({"language": "ko"}), form=True)},
    "javascript-catalog": {"GET": Rule(everyone(200))},
}

# Pages that need no login; every other page of casinoclub/pages sends anonymous callers to login.
PUBLIC_PAGES = {
    "home",
    "login",
    "signup",
    "logout",
    "verify",
    "odds",
    "email-verify",
    "password-reset",
    "password-reset-sent",
    "password-reset-confirm",
    "password-reset-complete",
}

# Django admin's own URLs (index, app index, every model's changelist/add/change/delete/history,
# login/logout/password, autocomplete, jsi18n, view-on-site, catch-all) are one group: staff see
# them, everyone else is sent to the admin login. The index and each changelist are called.
ADMIN_SITE_GROUP = "admin site (django.contrib.admin and ModelAdmin views)"


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    callback: Any
    is_admin_site: bool

    @property
    def view_class(self) -> type | None:
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    @property
    def methods(self) -> set[str] | None:
        """The handler methods a DRF or class-based view defines; None for a function view."""
        view_class = self.view_class
        if view_class is None:
            return None
        return {
            method.upper()
            for method in view_class.http_method_names
            if method not in ("options", "head") and hasattr(view_class, method)
        }


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            module = getattr(entry.callback, "__module__", "")
            is_admin_site = namespace == "admin" and module.startswith("django.")
            yield Route(name or "", prefix + str(entry.pattern), entry.callback, is_admin_site)


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def _cases() -> list[Any]:
    cases = []
    for route in all_routes():
        for method in ROUTES.get(route.name, {}):
            for caller in CALLERS:
                cases.append(
                    pytest.param(route.name, method, caller, id=f"{route.name}-{method}-{caller}")
                )
    return cases


@pytest.fixture
def world(db: Any) -> World:
    return World()


def client_as(world: World, caller: str) -> APIClient:
    client = APIClient()
    user = world.users.get(caller)
    if user is not None:
        client.force_login(user)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(user)['access']}")
    return client


def call(world: World, caller: str, route_name: str, method: str, *, missing: bool = False) -> Any:
    rule = ROUTES[route_name][method]
    kwargs_of = rule.missing_kwargs if missing and rule.missing_kwargs else rule.kwargs
    body_of = rule.missing_body if missing and rule.missing_body else rule.body
    url = reverse(route_name, kwargs=kwargs_of(world) if kwargs_of else None) + rule.query
    headers = {"HTTP_IDEMPOTENCY_KEY": f"matrix-{uuid.uuid4().hex}"} if rule.idempotent else {}
    body = body_of(world, caller) if body_of else None
    client = client_as(world, caller)
    if rule.form:
        return client.generic(method, url, _form(body or {}), "application/x-www-form-urlencoded")
    send = getattr(client, method.lower())
    if body is None:
        return send(url, **headers)
    return send(url, body, format="json", **headers)


def _form(data: dict[str, Any]) -> str:
    return urlencode(data)


@pytest.mark.parametrize(("route_name", "method", "caller"), _cases())
def test_route_answers_each_caller_with_the_expected_status(
    world: World, route_name: str, method: str, caller: str
) -> None:
    rule = ROUTES[route_name][method]
    expected = rule.expected[caller]

    response = call(world, caller, route_name, method)

    assert response.status_code == expected, (route_name, method, caller, response.content[:300])
    is_api = response.get("Content-Type", "").startswith("application/json")
    if expected == 401 and caller == ANONYMOUS and rule.expected[PLAYER] != 401:
        assert response.json()["error"]["code"] == "not_authenticated"
    if expected == 403 and is_api and rule.expected[PLAYER] == 403:
        assert response.json()["error"]["code"] == "permission_denied"
    if caller in rule.notes:
        assert is_api
        assert response.json()["error"]["code"] == rule.notes[caller]
    if expected == 302 and route_name.startswith("admin:"):
        assert response["Location"].startswith("/admin/login/?next=")
    if expected == 302 and caller == ANONYMOUS and rule.expected == player_page():
        assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize(
    "route_name",
    [
        name
        for name, methods in ROUTES.items()
        for rule in methods.values()
        if rule.missing_kwargs or rule.missing_body
    ],
)
def test_a_missing_object_answers_like_another_players_object(
    world: World, route_name: str
) -> None:
    """Existence never leaks: the non-owner's answer equals the answer for no object at all."""
    (method,) = ROUTES[route_name]
    rule = ROUTES[route_name][method]

    missing = call(world, OTHER, route_name, method, missing=True)
    not_owner = call(world, OTHER, route_name, method)
    own_missing = call(world, PLAYER, route_name, method, missing=True)

    assert missing.status_code == 404
    assert own_missing.status_code == 404
    if rule.expected[OTHER] == 404:
        assert not_owner.status_code == 404
        if not_owner.headers["Content-Type"].startswith("application/json"):
            assert not_owner.json() == missing.json()
        else:  # a page: the same not-found page, showing nothing of the object
            assert (
                not_owner.templates[0].name == missing.templates[0].name == "pages/not_found.html"
            )


def _admin_site_urls() -> list[tuple[str, str]]:
    """The admin index and every registered model's changelist, with the model's label."""
    urls = [("/admin/", "")]
    for model in admin.site._registry:
        label = f"{model._meta.app_label}.{model._meta.model_name}"
        urls.append((f"/admin/{model._meta.app_label}/{model._meta.model_name}/", label))
    return sorted(urls)


# Models whose admin needs a named permission beyond view (the mail the development server
# captured holds reset links): a view-only account does not see them.
NAMED_PERMISSION_MODELS = {"casinoclub.capturedemail": "casinoclub.read_captured_email"}


def _role_sees(caller: str, model_label: str) -> bool:
    """Whether a staff caller may open a model's changelist, by the roles' table."""
    if caller == VIEW_ONLY and model_label in NAMED_PERMISSION_MODELS:
        return False
    if caller in (SUPERUSER, VIEW_ONLY) or not model_label:
        return True
    app_label, model_name = model_label.split(".")
    wanted = ROLE_PERMISSIONS[caller]
    return any(f"{app_label}.{verb}_{model_name}" in wanted for verb in ("view", "change"))


@pytest.mark.parametrize(("url", "model_label"), _admin_site_urls())
@pytest.mark.parametrize("caller", CALLERS)
def test_admin_site_group_is_staff_only(
    world: World, url: str, model_label: str, caller: str
) -> None:
    response = client_as(world, caller).get(url)

    if caller in NOT_STAFF:
        assert response.status_code == 302
        assert response["Location"] == f"/admin/login/?next={url}"
    elif _role_sees(caller, model_label):
        assert response.status_code == 200
    else:
        assert response.status_code == 403


def test_every_route_has_an_entry_and_no_entry_is_stale() -> None:
    routes = all_routes()
    found = {route.name for route in routes if not route.is_admin_site}
    missing = []
    wrong_methods = []
    for route in routes:
        if route.is_admin_site:
            continue
        if route.name not in ROUTES:
            methods = sorted(route.methods or {"GET"})
            missing.append(f"{route.name or '(unnamed)'} {route.pattern} {methods}")
            continue
        methods = route.methods
        if methods is not None and set(ROUTES[route.name]) != methods:
            wrong_methods.append(
                f"{route.name}: view has {sorted(methods)}, table has {sorted(ROUTES[route.name])}"
            )

    assert not missing, (
        "Add these routes to ROUTES in casinoclub/tests/test_authorization_matrix.py with the "
        "expected status for each caller of CALLERS:\n" + "\n".join(missing)
    )
    assert not wrong_methods, "Methods of the table differ from the view:\n" + "\n".join(
        wrong_methods
    )
    stale = sorted(set(ROUTES) - found)
    assert not stale, f"No route has these names any more; remove them from ROUTES: {stale}"


def test_every_route_name_is_unique_so_the_table_is_unambiguous() -> None:
    names = [route.name for route in all_routes() if not route.is_admin_site]

    assert "" not in names
    assert len(names) == len(set(names))


def test_only_views_open_to_anyone_answer_anonymous_callers_without_401() -> None:
    """A DRF view requires login unless it allows anyone; then it answers everyone alike."""
    for route in all_routes():
        view_class = route.view_class
        if route.is_admin_site or view_class is None or not issubclass(view_class, APIView):
            continue
        allows_any = any(
            isinstance(permission, AllowAny) for permission in view_class().get_permissions()
        )
        for method, rule in ROUTES[route.name].items():
            if allows_any:
                assert rule.expected == everyone(rule.expected[ANONYMOUS]), (route.name, method)
            else:
                assert rule.expected[ANONYMOUS] == 401, (route.name, method)
