import uuid

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from accounts import services
from accounts.exceptions import InsufficientFunds, InvalidAmount
from accounts.models import AuditLogEntry, LedgerEntry, LedgerReason, Wallet
from accounts.roles import ECONOMY
from accounts.tests.factories import UserFactory, staff_member
from accounts.tests.test_races import run_together
from accounts.tokens import token_pair_for_user
from casinoclub.models import IdempotencyRecord


def funded_player(gold: int):
    user = UserFactory()
    services.wallet_open(user)
    if gold:
        services.wallet_credit(
            user.pk, gold, reason=LedgerReason.STAFF_GRANT, reference="test", idempotency_key="fund"
        )
    return user


def balance(user) -> int:
    return Wallet.objects.get(pk=user.pk).balance


def ledger_sum(user) -> int:
    return sum(LedgerEntry.objects.filter(wallet_id=user.pk).values_list("delta", flat=True))


def staff_client():
    staff = staff_member(ECONOMY)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(staff)['access']}")
    return staff, client


@pytest.mark.django_db
def test_signup_gold_is_a_ledger_entry(api_client, settings):
    settings.SIGNUP_BONUS_GOLD = 1000
    body = {
        "site_id": "richie",
        "nickname": "Richie",
        "phone_number": "01055556666",
        "password": "Str0ng-passw0rd!",
        "invite_code": "5858",
        "birth_date": "1990-01-01",
    }

    response = api_client.post("/api/auth/signup", body, format="json")

    assert response.status_code == 201
    assert response.json()["user"]["gold"] == 1000
    entry = LedgerEntry.objects.get(wallet_id=response.json()["user"]["id"])
    assert (entry.delta, entry.balance_after, entry.reason) == (1000, 1000, "signup_bonus")


@pytest.mark.django_db
def test_debit_and_credit_append_entries_with_running_balance():
    user = funded_player(100)

    services.wallet_debit(
        user.pk, 30, reason=LedgerReason.STAFF_REVOKE, reference="r", idempotency_key="d1"
    )
    services.wallet_credit(
        user.pk, 5, reason=LedgerReason.STAFF_GRANT, reference="r", idempotency_key="c1"
    )

    assert balance(user) == 75
    assert list(
        LedgerEntry.objects.filter(wallet_id=user.pk)
        .order_by("id")
        .values_list("delta", "balance_after")
    ) == [
        (100, 100),
        (-30, 70),
        (5, 75),
    ]


@pytest.mark.django_db
def test_repeated_idempotency_key_moves_gold_once():
    user = funded_player(100)

    first = services.wallet_debit(
        user.pk, 10, reason=LedgerReason.STAFF_REVOKE, reference="r", idempotency_key="same"
    )
    second = services.wallet_debit(
        user.pk, 10, reason=LedgerReason.STAFF_REVOKE, reference="r", idempotency_key="same"
    )

    assert first.pk == second.pk
    assert balance(user) == 90
    assert LedgerEntry.objects.filter(wallet_id=user.pk).count() == 2


@pytest.mark.parametrize("amount", [0, -5, 10**13, 1.5, "10"])
@pytest.mark.django_db
def test_invalid_amounts_change_nothing(amount):
    user = funded_player(100)

    with pytest.raises(InvalidAmount):
        services.wallet_debit(
            user.pk, amount, reason=LedgerReason.STAFF_REVOKE, reference="r", idempotency_key="x"
        )

    assert balance(user) == 100
    assert LedgerEntry.objects.filter(wallet_id=user.pk).count() == 1


@pytest.mark.django_db
def test_overdraft_is_refused_and_changes_nothing():
    user = funded_player(100)

    with pytest.raises(InsufficientFunds):
        services.wallet_debit(
            user.pk, 101, reason=LedgerReason.STAFF_REVOKE, reference="r", idempotency_key="x"
        )

    assert balance(user) == 100
    assert ledger_sum(user) == 100


@pytest.mark.django_db
def test_database_refuses_negative_balance_and_ledger_edits():
    user = funded_player(100)
    entry = LedgerEntry.objects.get(wallet_id=user.pk)

    with pytest.raises(DatabaseError), transaction.atomic():
        Wallet.objects.filter(pk=user.pk).update(balance=-1)
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(delta=5)
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()

    assert balance(user) == 100
    assert LedgerEntry.objects.get(pk=entry.pk).delta == 100


@pytest.mark.django_db(transaction=True)
def test_200_concurrent_debits_of_1_from_100_let_exactly_100_through():
    user = funded_player(100)

    def debit(index: int) -> str:
        try:
            services.wallet_debit(
                user.pk,
                1,
                reason=LedgerReason.STAFF_REVOKE,
                reference="race",
                idempotency_key=f"race-{index}",
            )
            return "ok"
        except InsufficientFunds:
            return "insufficient_funds"

    results = run_together(200, debit)

    assert results.count("ok") == 100
    assert results.count("insufficient_funds") == 100
    assert balance(user) == 0
    assert ledger_sum(user) == 0


@pytest.mark.django_db(transaction=True)
def test_50_concurrent_requests_with_one_key_make_one_effect_and_identical_responses():
    user = funded_player(0)
    staff, _ = staff_client()
    token = token_pair_for_user(staff)["access"]
    key = f"grant-{uuid.uuid4()}"

    def grant(_: int):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_IDEMPOTENCY_KEY=key)
        response = client.post(
            f"/api/admin/users/{user.pk}/gold",
            {"amount": 7, "reason": "compensation"},
            format="json",
        )
        return response.status_code, response.content

    results = run_together(50, grant)

    successes = [content for status, content in results if status == 200]
    assert successes
    assert len(set(successes)) == 1  # every success is the same bytes
    assert {status for status, _ in results} <= {200, 409}
    assert balance(user) == 7
    assert AuditLogEntry.objects.filter(target_user=user).count() == 1
    assert IdempotencyRecord.objects.filter(key=key).count() == 1


@pytest.mark.django_db
def test_staff_grant_and_revoke_write_ledger_and_audit():
    user = funded_player(100)
    staff, client = staff_client()

    grant = client.post(
        f"/api/admin/users/{user.pk}/gold",
        {"amount": 50, "reason": "event prize"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="grant-0001",
    )
    revoke = client.post(
        f"/api/admin/users/{user.pk}/gold",
        {"amount": -20, "reason": "duplicate prize"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="revoke-0001",
    )

    assert grant.status_code == 200
    assert revoke.status_code == 200
    assert grant.json()["balance_after"] == 150
    assert revoke.json()["balance_after"] == 130
    assert balance(user) == 130
    audits = list(
        AuditLogEntry.objects.filter(target_user=user)
        .order_by("id")
        .values_list("actor_id", "action", "reason")
    )
    assert audits == [
        (staff.pk, "gold_grant", "event prize"),
        (staff.pk, "gold_revoke", "duplicate prize"),
    ]


@pytest.mark.django_db
def test_replay_returns_the_stored_response_and_mismatch_is_422():
    user = funded_player(0)
    _, client = staff_client()
    url = f"/api/admin/users/{user.pk}/gold"

    first = client.post(
        url, {"amount": 5, "reason": "gift"}, format="json", HTTP_IDEMPOTENCY_KEY="key-00001"
    )
    replay = client.post(
        url, {"amount": 5, "reason": "gift"}, format="json", HTTP_IDEMPOTENCY_KEY="key-00001"
    )
    other = client.post(
        url, {"amount": 6, "reason": "gift"}, format="json", HTTP_IDEMPOTENCY_KEY="key-00001"
    )

    assert replay.status_code == 200
    assert replay.content == first.content
    assert replay["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_mismatch"
    assert balance(user) == 5


@pytest.mark.parametrize(
    ("body", "key", "status", "code"),
    [
        ({"amount": 5, "reason": "gift"}, None, 400, "idempotency_key_required"),
        ({"amount": 0, "reason": "gift"}, "k-000001", 400, "validation_error"),
        ({"amount": "5", "reason": "gift", "x": 1}, "k-000002", 400, "validation_error"),
        ({"amount": 1.5, "reason": "gift"}, "k-000003", 400, "validation_error"),
        ({"amount": 5, "reason": "   "}, "k-000004", 400, "validation_error"),
        ({"amount": 5, "reason": "r" * 501}, "k-000005", 400, "validation_error"),
        ({"amount": -500, "reason": "too much"}, "k-000006", 409, "insufficient_funds"),
    ],
)
@pytest.mark.django_db
def test_staff_adjust_bad_input_changes_nothing(body, key, status, code):
    user = funded_player(100)
    _, client = staff_client()
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}

    response = client.post(f"/api/admin/users/{user.pk}/gold", body, format="json", **headers)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert balance(user) == 100
    assert LedgerEntry.objects.filter(wallet_id=user.pk).count() == 1
    assert not AuditLogEntry.objects.exists()
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_staff_adjust_unknown_user_is_404_and_players_get_403(player_client):
    _, client = staff_client()

    unknown = client.post(
        "/api/admin/users/999999/gold",
        {"amount": 5, "reason": "x"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-0000010",
    )
    forbidden = player_client.post(
        "/api/admin/users/1/gold",
        {"amount": 5, "reason": "x"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-0000011",
    )

    assert unknown.status_code == 404
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "permission_denied"
    assert not LedgerEntry.objects.exists()


@pytest.mark.django_db
def test_check_ledger_passes_and_fails_on_a_violation(capsys):
    user = funded_player(100)

    call_command("check_ledger")
    assert "ledger OK" in capsys.readouterr().out

    with connection.cursor() as cursor:  # corrupt the balance behind the service's back
        cursor.execute("UPDATE accounts_wallet SET balance = 99 WHERE user_id = %s", [user.pk])
    with pytest.raises(SystemExit) as exit_info:
        call_command("check_ledger")
    assert exit_info.value.code == 1
    assert f"user {user.pk}: balance 99 but ledger sums to 100" in capsys.readouterr().out


@pytest.mark.django_db
def test_admin_gold_form_grants_once_even_when_submitted_twice(client):
    user = funded_player(0)
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    url = f"/admin/accounts/user/{user.pk}/gold/"
    form = {"amount": 25, "reason": "support ticket 12", "request_id": "abc123"}

    assert client.get(url).status_code == 200
    first = client.post(url, form)
    second = client.post(url, form)

    assert first.status_code == second.status_code == 302
    assert balance(user) == 25
    assert AuditLogEntry.objects.filter(target_user=user, action="gold_grant").count() == 1


@pytest.mark.django_db
def test_ledger_entries_are_read_only_in_admin(client):
    user = funded_player(10)
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    entry = LedgerEntry.objects.get(wallet_id=user.pk)

    assert client.get("/admin/accounts/ledgerentry/").status_code == 200
    assert client.get("/admin/accounts/ledgerentry/add/").status_code == 403
    assert (
        client.post(f"/admin/accounts/ledgerentry/{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db
def test_idempotency_records_live_at_least_24_hours_then_beat_purges_them():
    from datetime import timedelta

    from django.utils import timezone

    from casinoclub.tasks import idempotency_records_purge_task

    user = funded_player(0)
    _, client = staff_client()
    for key in ("old-key-0001", "new-key-0001"):
        client.post(
            f"/api/admin/users/{user.pk}/gold",
            {"amount": 1, "reason": "x"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )
    IdempotencyRecord.objects.filter(key="old-key-0001").update(
        created_at=timezone.now() - timedelta(hours=49)
    )
    IdempotencyRecord.objects.filter(key="new-key-0001").update(
        created_at=timezone.now() - timedelta(hours=24)
    )

    idempotency_records_purge_task.delay()

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new-key-0001"]


@pytest.mark.django_db
def test_replays_are_counted():
    from prometheus_client import REGISTRY

    user = funded_player(0)
    _, client = staff_client()
    url = f"/api/admin/users/{user.pk}/gold"
    before = REGISTRY.get_sample_value("idempotent_replays_total") or 0.0

    for _ in range(3):
        client.post(
            url, {"amount": 1, "reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="count-00001"
        )

    assert REGISTRY.get_sample_value("idempotent_replays_total") == before + 2
