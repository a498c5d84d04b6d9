"""Maintenance mode: gold-moving routes answer 503 ``maintenance`` with Retry-After, reads,
pages and the admin keep working, open crash rounds settle first, each change is audited."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from accounts.models import AuditLogEntry, LedgerEntry, Wallet
from accounts.tests.factories import UserFactory, staff_member
from accounts.tokens import token_pair_for_user
from casinoclub.models import MaintenanceState
from casinoclub.operations import maintenance_local_forget, maintenance_set
from games import services
from games.models import CrashPhase, CrashRound, GameRound, RoundState
from games.tests.crash_helpers import chain_where_first_round
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


def test_turning_maintenance_on_voids_the_round_taking_bets_and_opens_no_new_one(
    django_capture_on_commit_callbacks,
):
    # given the shared round taking bets, with one stake in it
    chain_where_first_round(lambda crash: crash >= 200)
    services.crash_loop_step()
    player = funded_player(1000)
    bet = client_of(player).post(
        "/api/games/crash/bet", {"bet": 100}, format="json", HTTP_IDEMPOTENCY_KEY=next(_keys)
    )
    assert bet.status_code == 200

    # when maintenance starts, and the loop steps on after the pause
    turn_on(django_capture_on_commit_callbacks)
    voided = CrashRound.objects.get()
    with time_machine.travel(voided.ended_at + timedelta(minutes=5), tick=False):
        services.crash_loop_step()

    # then the stake came back, the round is void and no new round opened
    assert voided.phase == CrashPhase.VOIDED
    assert GameRound.objects.get(user=player).state == RoundState.SETTLED
    assert Wallet.objects.get(pk=player.pk).balance == 1000
    assert CrashRound.objects.count() == 1


def test_a_running_round_runs_to_its_bust_in_maintenance_and_its_bets_may_cash_out(
    django_capture_on_commit_callbacks,
):
    # given a running round with two stakes in it
    chain_where_first_round(lambda crash: crash >= 300)
    services.crash_loop_step()
    cashing, staying = funded_player(1000), funded_player(1000)
    bets = [
        client_of(user).post(
            "/api/games/crash/bet", {"bet": 100}, format="json", HTTP_IDEMPOTENCY_KEY=next(_keys)
        )
        for user in (cashing, staying)
    ]
    round_ = CrashRound.objects.get()
    services.crash_loop_step(now=round_.betting_ends_at)
    round_.refresh_from_db()
    assert round_.phase == CrashPhase.RUNNING

    # when maintenance starts, one player cashes out and the round reaches its bust
    turn_on(django_capture_on_commit_callbacks)
    with time_machine.travel(round_.started_at + timedelta(seconds=5), tick=False):
        cashout = client_of(cashing).post(
            "/api/games/crash/cashout",
            {"round_id": bets[0].json()["round"]["id"]},
            format="json",
            HTTP_IDEMPOTENCY_KEY=next(_keys),
        )
        new_bet = client_of(funded_player(1000)).post(
            "/api/games/crash/bet", {"bet": 100}, format="json", HTTP_IDEMPOTENCY_KEY=next(_keys)
        )
    assert round_.bust_at is not None
    services.crash_loop_step(now=round_.bust_at)

    # then the cash-out paid, the other bet lost at the bust, and no new stake was taken
    round_.refresh_from_db()
    assert cashout.status_code == 200
    assert Wallet.objects.get(pk=cashing.pk).balance > 1000
    assert (new_bet.status_code, new_bet.json()["error"]["code"]) == (503, "maintenance")
    assert round_.phase == CrashPhase.BUSTED
    assert GameRound.objects.get(user=staying).state == RoundState.SETTLED
    assert Wallet.objects.get(pk=staying.pk).balance == 900


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
