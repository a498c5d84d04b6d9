"""Staff roles: who may grant gold, approve big grants, ban, set levels (docs/decisions/0120)."""

from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import exceptions, services
from accounts.models import (
    AuditLogEntry,
    GoldGrantRequest,
    LedgerEntry,
    LedgerReason,
    User,
    Wallet,
)
from accounts.roles import ADMINISTRATOR, ECONOMY, SUPPORT
from accounts.tasks import user_bans_lift_ended_task
from accounts.tests.factories import PASSWORD, UserFactory, staff_member
from accounts.tests.test_audit_log import user_change_form
from accounts.tests.test_races import run_together
from accounts.tokens import token_pair_for_user

USER_CHANGELIST = reverse("admin:accounts_user_changelist")
REQUEST_CHANGELIST = reverse("admin:accounts_goldgrantrequest_changelist")


def funded(gold: int, **kwargs) -> User:
    user = UserFactory(**kwargs)
    services.wallet_open(user)
    if gold:
        services.wallet_credit(
            user.pk, gold, reason=LedgerReason.STAFF_GRANT, reference="test", idempotency_key="fund"
        )
    return user


def balance(user: User) -> int:
    return Wallet.objects.get(pk=user.pk).balance


def staff_entries(user: User) -> list[int]:
    return list(
        LedgerEntry.objects.filter(wallet_id=user.pk)
        .exclude(idempotency_key="fund")
        .order_by("id")
        .values_list("delta", flat=True)
    )


def api_as(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(user)['access']}")
    return client


def grant(client: APIClient, user: User, amount: int, key: str):
    return client.post(
        f"/api/admin/users/{user.pk}/gold",
        {"amount": amount, "reason": "support ticket"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def role_permissions(role: str) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=role).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


# ---------------------------------------------------------------- the roles


@pytest.mark.django_db
def test_the_migration_creates_the_three_roles_with_their_permissions():
    support = role_permissions(SUPPORT)
    economy = role_permissions(ECONOMY)
    administrator = role_permissions(ADMINISTRATOR)

    assert {"accounts.view_user", "accounts.ban_user"} <= support
    assert not {"accounts.grant_gold", "accounts.change_user", "accounts.approve_grant"} & support
    assert {
        "accounts.grant_gold",
        "accounts.see_economy",
        "shop.change_product",
        "shop.change_limitedpackage",
        "games.change_gameconfig",
    } <= economy
    assert not {"accounts.ban_user", "accounts.approve_grant", "accounts.change_user"} & economy
    assert administrator == {
        f"{app}.{codename}"
        for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }


# ---------------------------------------------------------------- gold


@pytest.mark.django_db
def test_economy_staff_grant_within_the_limit_moves_gold_at_once(settings):
    settings.STAFF_GRANT_LIMIT = 1000
    player = funded(0)
    staff = staff_member(ECONOMY)

    response = grant(api_as(staff), player, 1000, "grant-0001")

    assert response.status_code == 200
    assert balance(player) == 1000
    assert staff_entries(player) == [1000]
    assert AuditLogEntry.objects.get(action="gold_grant").actor == staff


@pytest.mark.parametrize("role", [None, SUPPORT])
@pytest.mark.django_db
def test_staff_without_the_grant_permission_cannot_grant_over_the_api(role):
    player = funded(50)
    staff = staff_member(role)

    response = grant(api_as(staff), player, 100, "grant-0002")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert balance(player) == 50
    assert staff_entries(player) == []
    assert not AuditLogEntry.objects.exists()


@pytest.mark.django_db
def test_support_staff_cannot_open_the_admin_gold_form(client):
    player = funded(50)
    client.force_login(staff_member(SUPPORT))
    url = reverse("admin:accounts_user_gold", args=[player.pk])

    response = client.post(url, {"amount": 100, "reason": "x", "request_id": "r1"})

    assert client.get(url).status_code == 403
    assert response.status_code == 403
    assert balance(player) == 50


@pytest.mark.parametrize("superuser", [False, True])
@pytest.mark.django_db
def test_no_staff_member_grants_gold_to_themselves_over_the_api(superuser):
    staff = staff_member(ECONOMY, is_superuser=superuser)
    services.wallet_open(staff)

    response = grant(api_as(staff), staff, 500, "self-0001")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "self_grant_forbidden"
    assert balance(staff) == 0
    assert not LedgerEntry.objects.filter(wallet_id=staff.pk).exists()
    assert not AuditLogEntry.objects.exists()


@pytest.mark.django_db
def test_no_staff_member_grants_gold_to_themselves_in_admin(client):
    staff = staff_member(ECONOMY)
    services.wallet_open(staff)
    client.force_login(staff)
    url = reverse("admin:accounts_user_gold", args=[staff.pk])

    response = client.post(url, {"amount": 500, "reason": "me", "request_id": "self-admin"})

    assert response.status_code == 200
    assert exceptions.SelfGrantForbidden.message in response.content.decode()
    assert balance(staff) == 0
    assert not AuditLogEntry.objects.exists()


@pytest.mark.django_db
def test_a_grant_above_the_limit_waits_for_approval_and_moves_no_gold(settings):
    settings.STAFF_GRANT_LIMIT = 1000
    player = funded(0)
    staff = staff_member(ECONOMY)

    response = grant(api_as(staff), player, 1001, "big-0001")
    replay = grant(api_as(staff), player, 1001, "big-0001")

    assert response.status_code == 202
    body = response.json()
    request = GoldGrantRequest.objects.get()
    assert body["id"] == request.pk
    assert (body["amount"], body["status"], body["user_id"]) == (1001, "pending", player.pk)
    assert replay.status_code == 202
    assert replay.json() == body
    assert (request.requested_by, request.status, request.decided_by) == (staff, "pending", None)
    assert balance(player) == 0
    assert staff_entries(player) == []
    row = AuditLogEntry.objects.get()
    assert (row.action, row.actor, row.target_user) == ("gold_grant_request", staff, player)
    assert row.after == {"request": request.pk, "amount": 1001, "status": "pending"}


@pytest.mark.django_db
def test_a_revoke_above_the_limit_also_waits_for_approval(settings):
    settings.STAFF_GRANT_LIMIT = 10
    player = funded(500)

    response = grant(api_as(staff_member(ECONOMY)), player, -11, "big-revoke")

    assert response.status_code == 202
    assert GoldGrantRequest.objects.get().amount == -11
    assert balance(player) == 500


@pytest.mark.django_db
def test_a_grant_to_a_staff_account_always_waits_for_approval(settings):
    """Two staff members cannot grant each other gold, however small the amounts."""
    settings.STAFF_GRANT_LIMIT = 1000
    colleague = funded(0, is_staff=True)

    response = grant(api_as(staff_member(ECONOMY)), colleague, 10, "colleague-1")

    assert response.status_code == 202
    assert GoldGrantRequest.objects.get().user == colleague
    assert balance(colleague) == 0


@pytest.mark.django_db
def test_grants_beyond_the_daily_total_of_one_staff_member_wait_for_approval(settings):
    """Splitting a big grant into small ones does not avoid the second approver."""
    settings.STAFF_GRANT_LIMIT = 100
    settings.STAFF_GRANT_DAILY_LIMIT = 150
    first, second = funded(500), funded(500)
    client = api_as(staff_member(ECONOMY))

    within = grant(client, first, 100, "split-0001")
    revoke = grant(client, second, -60, "split-0002")
    other_staff = grant(api_as(staff_member(ECONOMY)), second, 60, "split-0003")

    assert within.status_code == 200
    assert revoke.status_code == 202
    assert other_staff.status_code == 200
    assert (balance(first), balance(second)) == (600, 560)
    assert GoldGrantRequest.objects.get().amount == -60


@pytest.mark.django_db(transaction=True)
def test_concurrent_grants_of_one_staff_member_count_each_other_against_the_daily_total(
    settings,
):
    settings.STAFF_GRANT_LIMIT = 100
    settings.STAFF_GRANT_DAILY_LIMIT = 150
    players = [funded(0), funded(0)]
    staff = staff_member(ECONOMY)

    results = run_together(
        2,
        lambda index: (
            type(
                services.staff_gold_adjust(
                    actor=staff,
                    user_id=players[index].pk,
                    amount=100,
                    reason="race",
                    idempotency_key=f"race-{index}",
                )
            ).__name__
        ),
    )

    assert sorted(results) == ["GoldGrantRequest", "LedgerEntry"]
    assert balance(players[0]) + balance(players[1]) == 100
    assert GoldGrantRequest.objects.count() == 1


@pytest.mark.django_db
def test_the_requester_cannot_approve_their_own_request_even_as_an_administrator(settings, client):
    settings.STAFF_GRANT_LIMIT = 10
    player = funded(0)
    requester = staff_member(ADMINISTRATOR)
    request = services.staff_gold_adjust(
        actor=requester, user_id=player.pk, amount=100, reason="event prize", idempotency_key="k1"
    )
    client.force_login(requester)

    response = client.post(
        REQUEST_CHANGELIST, {"action": "approve_requests", "_selected_action": [request.pk]}
    )

    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.ledger_entry) == ("pending", None, None)
    assert balance(player) == 0
    assert list(AuditLogEntry.objects.values_list("action", flat=True)) == ["gold_grant_request"]
    with pytest.raises(exceptions.SecondApproverRequired):
        services.gold_grant_request_approve(actor=requester, request_id=request.pk)


@pytest.mark.django_db
def test_economy_staff_cannot_approve_a_request(settings, client):
    settings.STAFF_GRANT_LIMIT = 10
    player = funded(0)
    request = services.staff_gold_adjust(
        actor=staff_member(ECONOMY),
        user_id=player.pk,
        amount=100,
        reason="event prize",
        idempotency_key="k1",
    )
    client.force_login(staff_member(ECONOMY))

    client.post(
        REQUEST_CHANGELIST, {"action": "approve_requests", "_selected_action": [request.pk]}
    )

    request.refresh_from_db()
    assert request.status == "pending"
    assert balance(player) == 0


@pytest.mark.django_db
def test_a_second_staff_member_approves_once_through_the_ledger(settings, client):
    settings.STAFF_GRANT_LIMIT = 10
    player = funded(0)
    requester = staff_member(ECONOMY)
    approver = staff_member(ADMINISTRATOR)
    request = services.staff_gold_adjust(
        actor=requester, user_id=player.pk, amount=100, reason="event prize", idempotency_key="k1"
    )
    client.force_login(approver)
    approve = {"action": "approve_requests", "_selected_action": [request.pk]}

    first = client.post(REQUEST_CHANGELIST, approve)
    second = client.post(REQUEST_CHANGELIST, approve)
    again = services.gold_grant_request_approve(actor=approver, request_id=request.pk)

    assert first.status_code == second.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("approved", approver)
    entry = LedgerEntry.objects.get(wallet_id=player.pk)
    assert (entry.delta, entry.reason, entry.idempotency_key) == (
        100,
        "staff_grant",
        f"grant-request:{request.pk}",
    )
    assert request.ledger_entry == entry == again
    assert balance(player) == 100
    row = AuditLogEntry.objects.get(action="gold_grant_approve")
    assert (row.actor, row.target_user, row.reason) == (approver, player, "event prize")
    assert (row.before, row.after) == ({"balance": 0}, {"balance": 100, "ledger_entry": entry.pk})


@pytest.mark.django_db
def test_a_rejected_request_moves_no_gold_and_cannot_be_approved_later(settings, client):
    settings.STAFF_GRANT_LIMIT = 10
    player = funded(0)
    approver = staff_member(ADMINISTRATOR)
    request = services.staff_gold_adjust(
        actor=staff_member(ECONOMY),
        user_id=player.pk,
        amount=100,
        reason="prize",
        idempotency_key="k1",
    )
    client.force_login(approver)

    client.post(
        REQUEST_CHANGELIST,
        {"action": "reject_requests", "reason": "no such event", "_selected_action": [request.pk]},
    )

    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("rejected", approver)
    with pytest.raises(exceptions.GrantRequestNotPending):
        services.gold_grant_request_approve(actor=approver, request_id=request.pk)
    assert balance(player) == 0
    assert staff_entries(player) == []
    row = AuditLogEntry.objects.get(action="gold_grant_request_reject")
    assert (row.actor, row.reason) == (approver, "no such event")


@pytest.mark.django_db
def test_the_approver_cannot_be_the_player_of_the_request(settings):
    settings.STAFF_GRANT_LIMIT = 10
    approver = funded(0, is_staff=True, is_superuser=True)
    request = services.staff_gold_adjust(
        actor=staff_member(ECONOMY),
        user_id=approver.pk,
        amount=100,
        reason="prize",
        idempotency_key="k1",
    )

    with pytest.raises(exceptions.SelfGrantForbidden):
        services.gold_grant_request_approve(actor=approver, request_id=request.pk)

    assert balance(approver) == 0


@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_move_the_gold_once(settings):
    settings.STAFF_GRANT_LIMIT = 10
    player = funded(0)
    approvers = [staff_member(ADMINISTRATOR), staff_member(ADMINISTRATOR)]
    request = services.staff_gold_adjust(
        actor=staff_member(ECONOMY),
        user_id=player.pk,
        amount=100,
        reason="prize",
        idempotency_key="k1",
    )

    entries = run_together(
        2,
        lambda index: (
            services.gold_grant_request_approve(actor=approvers[index], request_id=request.pk).pk
        ),
    )

    assert entries[0] == entries[1]
    assert balance(player) == 100
    assert staff_entries(player) == [100]
    assert AuditLogEntry.objects.filter(action="gold_grant_approve").count() == 1


# ---------------------------------------------------------------- bans


@pytest.mark.django_db
def test_support_bans_a_player_with_a_reason_and_an_end(client):
    player = UserFactory()
    staff = staff_member(SUPPORT)
    client.force_login(staff)
    ends = timezone.now() + timedelta(days=3)

    client.post(
        USER_CHANGELIST,
        {
            "action": "ban_users",
            "reason": "chat abuse",
            "banned_until": timezone.localtime(ends).strftime("%Y-%m-%d %H:%M:%S"),
            "_selected_action": [player.pk],
        },
    )

    player.refresh_from_db()
    assert player.is_active is False
    assert player.banned_until == ends.replace(microsecond=0)
    row = AuditLogEntry.objects.get()
    assert (row.action, row.actor, row.reason) == ("user_ban", staff, "chat abuse")
    assert row.after["is_active"] is False
    assert datetime.fromisoformat(row.after["banned_until"]) == player.banned_until


@pytest.mark.django_db
def test_a_ban_without_a_reason_is_refused(client):
    player = UserFactory()
    client.force_login(staff_member(SUPPORT))

    client.post(USER_CHANGELIST, {"action": "ban_users", "_selected_action": [player.pk]})

    player.refresh_from_db()
    assert player.is_active is True
    assert not AuditLogEntry.objects.exists()


@pytest.mark.parametrize("role", [SUPPORT, ADMINISTRATOR])
@pytest.mark.django_db
def test_only_a_superuser_bans_a_superuser(client, role):
    boss = UserFactory(is_staff=True, is_superuser=True)
    boss_api = api_as(boss)
    client.force_login(staff_member(role))

    client.post(
        USER_CHANGELIST,
        {"action": "ban_users", "reason": "coup", "_selected_action": [boss.pk]},
    )

    boss.refresh_from_db()
    assert (boss.is_active, boss.token_version) == (True, 0)
    assert boss_api.get("/api/users/me").status_code == 200
    assert not AuditLogEntry.objects.exists()
    with pytest.raises(exceptions.SuperuserProtected):
        services.user_set_active(boss, is_active=False, actor=staff_member(role))


@pytest.mark.django_db
def test_a_superuser_may_ban_another_superuser():
    other = UserFactory(is_staff=True, is_superuser=True)

    services.user_set_active(
        other, is_active=False, actor=UserFactory(is_superuser=True), reason="left"
    )

    other.refresh_from_db()
    assert other.is_active is False


@pytest.mark.django_db
def test_a_non_superuser_cannot_open_a_superusers_change_or_password_form(client):
    boss = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff_member(ADMINISTRATOR))
    old_hash = boss.password

    response = client.post(
        reverse("admin:auth_user_password_change", args=[boss.pk]),
        {"password1": "N3w-passw0rd!!", "password2": "N3w-passw0rd!!"},
    )

    assert response.status_code == 403
    change = client.get(reverse("admin:accounts_user_change", args=[boss.pk]))
    assert change.status_code == 200
    assert change.context["has_change_permission"] is False  # view only
    boss.refresh_from_db()
    assert boss.password == old_hash
    assert not AuditLogEntry.objects.exists()


@pytest.mark.django_db
def test_an_ended_ban_is_lifted_at_login_and_audited_without_an_actor(api_client):
    player = UserFactory(site_id="comeback")
    services.user_set_active(
        player,
        is_active=False,
        actor=staff_member(SUPPORT),
        reason="cool down",
        banned_until=timezone.now() + timedelta(hours=1),
    )
    login = {"site_id": "comeback", "password": PASSWORD}

    refused = api_client.post("/api/auth/login", login, format="json")
    User.objects.filter(pk=player.pk).update(banned_until=timezone.now() - timedelta(seconds=1))
    allowed = api_client.post("/api/auth/login", login, format="json")

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "account_banned"
    assert allowed.status_code == 200
    player.refresh_from_db()
    assert (player.is_active, player.banned_until) == (True, None)
    row = AuditLogEntry.objects.get(action="user_unban")
    assert (row.actor, row.reason) == (None, "ban ended")


@pytest.mark.django_db
def test_the_beat_job_lifts_ended_bans_only():
    ended = UserFactory(is_active=False, banned_until=timezone.now() - timedelta(minutes=1))
    running = UserFactory(is_active=False, banned_until=timezone.now() + timedelta(days=1))
    forever = UserFactory(is_active=False)

    lifted = user_bans_lift_ended_task()

    assert lifted == 1
    states = dict(User.objects.values_list("pk", "is_active"))
    assert (states[ended.pk], states[running.pk], states[forever.pk]) == (True, False, False)


@pytest.mark.django_db
def test_a_ban_ending_in_the_past_is_refused():
    player = UserFactory()

    with pytest.raises(exceptions.InvalidBanEnd):
        services.user_set_active(
            player,
            is_active=False,
            actor=staff_member(SUPPORT),
            banned_until=timezone.now() - timedelta(minutes=1),
        )

    player.refresh_from_db()
    assert player.is_active is True


# ---------------------------------------------------------------- audited edits
# (the change form as the admin sends it: accounts/tests/test_audit_log.py)


@pytest.mark.django_db
def test_staff_edits_of_profile_groups_permissions_and_staff_flag_are_audited(client):
    player = UserFactory(nickname="Before", phone_number="01011112222")
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    permission = Permission.objects.get(codename="view_user")
    support = Group.objects.get(name=SUPPORT)

    response = client.post(
        reverse("admin:accounts_user_change", args=[player.pk]),
        user_change_form(
            player,
            nickname="After",
            phone_number="01033334444",
            is_staff="on",
            groups=[support.pk],
            user_permissions=[permission.pk],
        ),
    )

    assert response.status_code == 302
    row = AuditLogEntry.objects.get()
    assert (row.action, row.actor, row.target_user) == ("user_change", superuser, player)
    assert row.before == {
        "nickname": "Before",
        "phone_number": "01011112222",
        "is_staff": False,
        "groups": [],
        "user_permissions": [],
    }
    assert row.after == {
        "nickname": "After",
        "phone_number": "01033334444",
        "is_staff": True,
        "groups": [SUPPORT],
        "user_permissions": ["accounts.view_user"],
    }


@pytest.mark.django_db
def test_a_password_set_by_staff_is_audited_without_the_hash(client):
    player = UserFactory()
    staff = staff_member(ADMINISTRATOR)
    client.force_login(staff)

    response = client.post(
        reverse("admin:auth_user_password_change", args=[player.pk]),
        {"password1": "N3w-passw0rd!!", "password2": "N3w-passw0rd!!"},
    )

    assert response.status_code == 302
    player.refresh_from_db()
    assert player.check_password("N3w-passw0rd!!")
    row = AuditLogEntry.objects.get()
    assert (row.action, row.actor, row.target_user) == ("user_password_reset", staff, player)
    assert (row.before, row.after) == (None, {"usable_password": True, "sessions_revoked": True})
    assert player.password not in str(list(AuditLogEntry.objects.values()))


@pytest.mark.django_db
def test_a_non_superuser_cannot_make_anyone_staff_or_superuser(client):
    player = UserFactory()
    client.force_login(staff_member(ADMINISTRATOR))

    response = client.post(
        reverse("admin:accounts_user_change", args=[player.pk]),
        user_change_form(player, is_staff="on", is_superuser="on"),
    )

    assert response.status_code == 302
    player.refresh_from_db()
    assert (player.is_staff, player.is_superuser) == (False, False)
    assert not AuditLogEntry.objects.exists()


# ---------------------------------------------------------------- levels


@pytest.mark.django_db
def test_level_and_experience_cannot_be_edited_in_the_user_change_form(client, settings):
    """The exploit: experience set high in the form minted level-up gold on the next round."""
    settings.LEVEL_UP_GOLD_PER_LEVEL = 100
    player = UserFactory(level=1, experience=0)
    services.wallet_open(player)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(
        reverse("admin:accounts_user_change", args=[player.pk]),
        user_change_form(player, level=1, experience=10**6),
    )
    services.user_experience_add(player.pk, 1, source="test")

    assert response.status_code == 302
    player.refresh_from_db()
    assert (player.level, player.experience) == (1, 1)
    assert not LedgerEntry.objects.filter(wallet_id=player.pk).exists()


@pytest.mark.django_db
def test_a_staff_level_change_is_audited_and_never_pays_level_up_gold(client, settings):
    settings.LEVEL_UP_GOLD_PER_LEVEL = 100
    player = UserFactory(level=1, experience=0)
    services.wallet_open(player)
    staff = staff_member(ADMINISTRATOR)
    client.force_login(staff)

    def set_level(level: int) -> None:
        client.post(
            USER_CHANGELIST,
            {
                "action": "set_progression",
                "reason": "ticket 42",
                "level": level,
                "experience": 0,
                "_selected_action": [player.pk],
            },
        )

    set_level(5)
    player.refresh_from_db()
    set_level_5 = (player.level, player.experience)
    set_level(2)  # lowered: levels 3 to 5 reached again must not pay
    services.user_experience_add(player.pk, 10_000, source="test")  # from level 2 past level 6

    assert set_level_5 == (5, 0)
    player.refresh_from_db()
    assert player.level > 6
    rewards = list(
        LedgerEntry.objects.filter(wallet_id=player.pk, reason="level_up")
        .order_by("id")
        .values_list("reference", flat=True)
    )
    assert rewards == [f"level:{level}" for level in range(6, player.level + 1)]
    rows = list(
        AuditLogEntry.objects.order_by("id").values_list("action", "actor", "before", "after")
    )
    assert rows == [
        (
            "user_progression_change",
            staff.pk,
            {"level": 1, "experience": 0},
            {"level": 5, "experience": 0},
        ),
        (
            "user_progression_change",
            staff.pk,
            {"level": 5, "experience": 0},
            {"level": 2, "experience": 0},
        ),
    ]


@pytest.mark.django_db
def test_experience_at_or_above_the_level_threshold_is_refused():
    player = UserFactory(level=1, experience=0)

    with pytest.raises(exceptions.InvalidProgression):
        services.user_progression_set(
            actor=staff_member(ADMINISTRATOR),
            user_id=player.pk,
            level=3,
            experience=10**6,
            reason="x",
        )

    player.refresh_from_db()
    assert (player.level, player.experience) == (1, 0)
    assert not AuditLogEntry.objects.exists()


@pytest.mark.django_db
def test_staff_without_the_progression_permission_cannot_set_a_level(client):
    player = UserFactory(level=1)
    client.force_login(staff_member(SUPPORT))

    client.post(
        USER_CHANGELIST,
        {
            "action": "set_progression",
            "reason": "x",
            "level": 50,
            "_selected_action": [player.pk],
        },
    )

    player.refresh_from_db()
    assert player.level == 1
    assert not AuditLogEntry.objects.exists()


@pytest.mark.django_db
def test_the_password_form_of_a_user_that_cannot_exist_is_404(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.get("/admin/accounts/user/not-a-number/password/")

    assert response.status_code == 404
