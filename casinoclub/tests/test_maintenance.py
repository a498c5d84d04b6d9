"""Maintenance mode: gold-moving routes answer 503 ``maintenance`` with Retry-After, reads,
pages and the admin keep working, open crash rounds settle first, each change is audited."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from accounts.models import AuditLogEntry, LedgerEntry
from accounts.tests.factories import UserFactory, staff_member
from accounts.tokens import token_pair_for_user
from casinoclub.models import MaintenanceState
from casinoclub.operations import maintenance_local_forget, maintenance_set
from games.models import GameRound, RoundState
from games.tests.factories import funded_player

pytestmark = pytest.mark.django_db

_keys = (f"maint-key-{n:06d}" for n in itertools.count())
CHANGE_URL = "/admin/casinoclub/maintenancestate/1/change/"
ADD_URL = "/admin/casinoclub/maintenancestate/add/"


@pytest.fixture(autouse=True)
def _fresh_flag():  # type: ignore[no-untyped-def]
    maintenance_local_forget()
    yield
    maintenance_local_forget()


def client_of(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(user)['access']}")
    return client


def turn_on(django_capture_on_commit_callbacks, **kwargs):  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        return maintenance_set(actor=staff_member("administrator"), is_on=True, **kwargs)


def test_a_spin_in_maintenance_is_503_with_retry_after_and_moves_no_gold(
    django_capture_on_commit_callbacks,
):
    player = funded_player(1000)
    entries_before = LedgerEntry.objects.filter(wallet_id=player.pk).count()
    turn_on(django_capture_on_commit_callbacks, retry_after_seconds=900, message_en="Upgrading")

    response = client_of(player).post(
        "/api/games/slot/spin", {"bet": 100}, format="json", HTTP_IDEMPOTENCY_KEY=next(_keys)
    )

    assert response.status_code == 503
    assert response["Retry-After"] == "900"
    assert response.json()["error"] == {
        "code": "maintenance",
        "message": "Upgrading",
        "details": {"retry_after_seconds": 900},
    }
    assert LedgerEntry.objects.filter(wallet_id=player.pk).count() == entries_before
    assert GameRound.objects.filter(user=player).count() == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/users/me/refill", {}),
        ("/api/streak/claim", {}),
        ("/api/shop/buy", {"product_code": "any"}),
    ],
)
def test_every_gold_moving_route_is_refused_in_maintenance(
    django_capture_on_commit_callbacks, path, body
):
    player = funded_player(0)
    turn_on(django_capture_on_commit_callbacks)

    response = client_of(player).post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=next(_keys))

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "maintenance"
    assert response["Retry-After"] == "600"


def test_reads_pages_and_the_admin_keep_working_in_maintenance(
    client, admin_user, django_capture_on_commit_callbacks
):
    player = funded_player(500)
    turn_on(django_capture_on_commit_callbacks, message_en="Back at 3 pm", message_ko="오후 3시")

    me = client_of(player).get("/api/users/me")
    client.force_login(player)
    home = client.get("/")
    client.force_login(admin_user)
    admin_page = client.get(CHANGE_URL)
    ledger_admin = client.get("/admin/accounts/ledgerentry/")

    assert me.status_code == 200
    assert home.status_code == 200
    assert b'data-testid="maintenance-notice"' in home.content
    assert "Back at 3 pm" in home.content.decode()
    assert admin_page.status_code == 200
    assert ledger_admin.status_code == 200


def test_a_staff_gold_grant_keeps_working_in_maintenance(django_capture_on_commit_callbacks):
    player = funded_player(0)
    staff = staff_member("economy")
    turn_on(django_capture_on_commit_callbacks)

    response = client_of(staff).post(
        f"/api/admin/users/{player.pk}/gold",
        {"amount": 50, "reason": "goodwill during maintenance"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=next(_keys),
    )

    assert response.status_code == 200


def test_turning_maintenance_on_settles_open_crash_rounds_first(
    django_capture_on_commit_callbacks,
):
    player = funded_player(1000)
    bet = client_of(player).post(
        "/api/games/crash/bet", {"bet": 100}, format="json", HTTP_IDEMPOTENCY_KEY=next(_keys)
    )
    assert bet.status_code == 200
    assert GameRound.objects.get(user=player).state == RoundState.OPEN

    turn_on(django_capture_on_commit_callbacks)

    round_ = GameRound.objects.get(user=player)
    assert round_.state == RoundState.SETTLED
    assert round_.settled_at is not None


def test_the_admin_switch_turns_it_on_with_an_audit_row_and_the_flag_follows(
    client, django_capture_on_commit_callbacks
):
    staff = staff_member("administrator")
    client.force_login(staff)
    form = {
        "is_on": "on",
        "message_en": "Short break",
        "message_ko": "잠시 점검",
        "retry_after_seconds": "300",
        "reason": "database upgrade",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ADD_URL, form)
    maintenance_local_forget()
    spin = client_of(funded_player(100)).post(
        "/api/games/slot/spin", {"bet": 10}, format="json", HTTP_IDEMPOTENCY_KEY=next(_keys)
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(CHANGE_URL, {**form, "is_on": "", "reason": "done"})
    maintenance_local_forget()
    spin_after = client_of(funded_player(100)).post(
        "/api/games/slot/spin", {"bet": 10}, format="json", HTTP_IDEMPOTENCY_KEY=next(_keys)
    )

    assert response.status_code == 302
    assert spin.status_code == 503
    assert spin["Retry-After"] == "300"
    assert spin_after.status_code == 200
    rows = list(
        AuditLogEntry.objects.filter(action__startswith="maintenance").order_by("created_at")
    )
    assert [(row.action, row.actor_id, row.reason) for row in rows] == [
        ("maintenance_on", staff.pk, "database upgrade"),
        ("maintenance_off", staff.pk, "done"),
    ]
    assert rows[0].after["is_on"] is True


def test_staff_without_the_permission_cannot_switch_it(client):
    MaintenanceState.objects.create(pk=1)
    support = staff_member("support")
    client.force_login(support)

    response = client.post(CHANGE_URL, {"is_on": "on", "retry_after_seconds": "60", "reason": "x"})

    assert response.status_code == 403
    assert MaintenanceState.objects.get(pk=1).is_on is False
    assert not AuditLogEntry.objects.filter(action__startswith="maintenance").exists()


def test_a_staff_member_given_only_the_named_permission_can_see_the_switch(client):
    MaintenanceState.objects.create(pk=1)
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="switch_maintenance"))
    client.force_login(staff)

    assert client.get(CHANGE_URL).status_code == 200


def test_the_flag_is_read_from_the_cache_not_the_database(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    from casinoclub.operations import maintenance_get

    turn_on(django_capture_on_commit_callbacks)
    maintenance_local_forget()

    with django_assert_num_queries(0):
        from_cache = maintenance_get()
        maintenance_local_forget()
        again = maintenance_get()

    assert from_cache.is_on is True
    assert again.is_on is True
