"""A view-only staff member is refused every staff API route and every admin action.

The routes come from the URLconf (every route under ``/api/admin/``) and the actions from
``admin.site._registry`` (each ModelAdmin's actions plus the site-wide ones such as
``delete_selected``), so a new route or action is walked without touching this file. "View-only
staff": ``is_staff`` with every ``view_*`` permission, so every changelist opens and offers its
actions only by their declared ``permissions=``. Each call must be refused and leave every table
exactly as it was (docs/decisions/0120-staff-roles.md).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.sessions.models import Session
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.roles import ECONOMY
from accounts.services import responsible
from accounts.tests.factories import InviteCodeFactory, staff_member, view_only_staff
from accounts.tokens import token_pair_for_user
from casinoclub.permissions import StaffPermission
from casinoclub.tests.test_authorization_matrix import OTHER, PLAYER, Route, World, all_routes
from liveops.models import Campaign

ADMIN_API_PREFIX = "api/admin/"
# Values for every field an action bar may read, so an action that ran would really act.
ACTION_FIELDS = {
    "reason": "walk",
    "level": "7",
    "experience": "0",
    "discount_percent": "50",
    "min_rank": "VIP",
    "quantity": "1",
    "amount": "1",
    "blocked_until": "2099-01-01 00:00",
    "select_across": "0",
    "index": "0",
}
# Written by logging in (before the snapshot) and by the admin's messages, not by an action.
NOT_COMPARED = {Session._meta.label}


def admin_api_routes() -> list[Route]:
    return [route for route in all_routes() if route.pattern.startswith(ADMIN_API_PREFIX)]


def registered_actions() -> list[tuple[type, str]]:
    found = []
    for model, model_admin in admin.site._registry.items():
        names = {name for name, _ in admin.site.actions}
        names |= {
            action if isinstance(action, str) else action.__name__
            for action in model_admin.actions or ()
        }
        found += [(model, name) for name in sorted(names)]
    return found


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table the project owns (and auth's), to compare before and after."""
    tables = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed or model._meta.label in NOT_COMPARED:
            continue
        tables[model._meta.label] = list(model._default_manager.order_by("pk").values())
    return tables


def populate(world: World) -> None:
    """At least one row in every model that has actions, owned by ordinary players."""
    made = (world.slot_round_id, world.receipt, world.event_id, world.item_code, world.package_code)
    assert all(made)
    InviteCodeFactory()
    other = world.users[OTHER]
    account_services.staff_gold_adjust(
        actor=staff_member(ECONOMY),
        user_id=other.pk,
        amount=account_services.staff_grant_limit() + 1,
        reason="walk",
        idempotency_key="walk-request",
    )
    responsible.cool_off_start(other.pk, "24h")  # a block staff could extend
    Campaign.objects.create(name="walk", category="events", title_en="walk")  # a draft to send


def test_every_staff_api_route_requires_a_model_permission() -> None:
    routes = admin_api_routes()

    assert routes, "no /api/admin/ route found"
    for route in routes:
        permissions = route.view_class().get_permissions()  # type: ignore[misc]
        staff = [p for p in permissions if isinstance(p, StaffPermission)]
        assert staff, route.name
        assert all(p.required for p in staff), route.name


def test_every_admin_action_declares_its_permissions() -> None:
    undeclared = []
    for model, name in registered_actions():
        model_admin = admin.site._registry[model]
        action = model_admin.get_action(name)
        assert action is not None, (model, name)
        if not getattr(action[0], "allowed_permissions", None):
            undeclared.append(f"{model._meta.label}.{name}")

    assert not undeclared, f"Declare permissions= on these admin actions: {undeclared}"


def _path_kwargs(route: Route, world: World) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", route.pattern):
        kwargs[name] = world.users[PLAYER].pk if converter in ("int", None) else "walk"
    return kwargs


@pytest.mark.django_db
def test_view_only_staff_is_refused_every_staff_api_route_and_nothing_changes() -> None:
    world = World()
    populate(world)
    staff = view_only_staff()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(staff)['access']}")
    body = {"amount": 100, "reason": "walk", "quantity": 1}
    before = snapshot()

    refused = []
    for route in admin_api_routes():
        url = reverse(route.name, kwargs=_path_kwargs(route, world))
        for method in sorted(route.methods or {"GET"}):
            send = getattr(client, method.lower())
            response = send(url, body, format="json", HTTP_IDEMPOTENCY_KEY=f"walk-{route.name}")
            assert response.status_code == 403, (route.name, method, response.content[:200])
            assert response.json()["error"]["code"] == "permission_denied"
            refused.append((route.name, method))

    assert refused
    assert snapshot() == before


@pytest.mark.django_db
def test_view_only_staff_is_refused_every_admin_action_and_nothing_changes(client: Any) -> None:
    world = World()
    populate(world)
    staff = view_only_staff()
    client.force_login(staff)
    request = RequestFactory().get("/admin/")
    request.user = staff
    before = snapshot()

    walked = []
    for model, name in registered_actions():
        model_admin = admin.site._registry[model]
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert name not in model_admin.get_actions(request), (model._meta.label, name)
        selected = list(model_admin.get_queryset(request).values_list("pk", flat=True)[:5])
        response = client.post(
            changelist, {**ACTION_FIELDS, "action": name, "_selected_action": selected}
        )
        assert response.status_code in (200, 302, 403), (model._meta.label, name)
        walked.append((model._meta.label, name, bool(selected)))

    after = snapshot()
    changed = [table for table in before if before[table] != after[table]]
    assert not changed, f"tables changed by a refused action: {changed}"
    custom = [(label, name) for label, name, selected in walked if name != "delete_selected"]
    assert {name for _, name in custom} >= {"ban_users", "approve_requests", "set_discount"}
    missing_rows = [
        (label, name)
        for label, name, selected in walked
        if not selected and name != "delete_selected"
    ]
    assert not missing_rows, f"give these models a row in populate(): {missing_rows}"
