"""The audit log: staff actions write rows; admin filters them and exports them as CSV."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import AuditLogEntry, InviteCode, User
from accounts.tests.factories import InviteCodeFactory, UserFactory

AUDIT_CHANGELIST = reverse("admin:accounts_auditlogentry_changelist")
AUDIT_EXPORT = reverse("admin:accounts_auditlogentry_export")
USER_CHANGELIST = reverse("admin:accounts_user_changelist")
CODE_CHANGELIST = reverse("admin:accounts_invitecode_changelist")


@pytest.fixture
def staff(db):
    return UserFactory(site_id="staff", nickname="Staff", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def audit_rows():
    return list(
        AuditLogEntry.objects.order_by("id").values_list(
            "actor__site_id", "action", "target_user_id", "before", "after"
        )
    )


def user_change_form(user, **changes):
    data = {
        "site_id": user.site_id,
        "nickname": user.nickname,
        "phone_number": user.phone_number,
        "rank": user.rank,
        "vip_points": user.vip_points,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "_save": "Save",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


# ---------------------------------------------------------------- bans, user edits, invite codes


@pytest.mark.django_db
def test_ban_and_unban_actions_write_one_audit_row_each_with_the_actor(staff_client, staff):
    player = UserFactory()

    staff_client.post(
        USER_CHANGELIST, {"action": "ban_users", "reason": "abuse", "_selected_action": [player.pk]}
    )
    staff_client.post(
        USER_CHANGELIST,
        {"action": "unban_users", "reason": "appeal", "_selected_action": [player.pk]},
    )

    assert audit_rows() == [
        (
            "staff",
            "user_ban",
            player.pk,
            {"is_active": True, "banned_until": None},
            {"is_active": False, "banned_until": None},
        ),
        (
            "staff",
            "user_unban",
            player.pk,
            {"is_active": False, "banned_until": None},
            {"is_active": True, "banned_until": None},
        ),
    ]


@pytest.mark.django_db
def test_banning_an_already_banned_player_writes_no_second_row(staff):
    player = UserFactory(is_active=False)

    services.user_set_active(player, is_active=False, actor=staff)

    assert AuditLogEntry.objects.count() == 0
    player.refresh_from_db()
    assert (player.is_active, player.token_version) == (False, 1)


@pytest.mark.django_db
def test_rank_and_vip_points_edits_through_the_change_form_are_audited(staff_client):
    player = UserFactory(rank="STANDARD", vip_points=0)
    url = reverse("admin:accounts_user_change", args=[player.pk])

    response = staff_client.post(url, user_change_form(player, rank="VIP", vip_points=500))

    assert response.status_code == 302
    player.refresh_from_db()
    assert (player.rank, player.vip_points) == ("VIP", 500)
    assert audit_rows() == [
        (
            "staff",
            "user_change",
            player.pk,
            {"rank": "STANDARD", "vip_points": 0},
            {"rank": "VIP", "vip_points": 500},
        )
    ]


@pytest.mark.django_db
def test_unticking_active_in_the_change_form_is_a_ban_that_revokes_tokens(staff_client):
    player = UserFactory()
    url = reverse("admin:accounts_user_change", args=[player.pk])

    response = staff_client.post(url, user_change_form(player, is_active=""))

    assert response.status_code == 302
    player.refresh_from_db()
    assert (player.is_active, player.token_version) == (False, 1)
    assert audit_rows() == [
        (
            "staff",
            "user_ban",
            player.pk,
            {"is_active": True, "banned_until": None},
            {"is_active": False, "banned_until": None},
        )
    ]


@pytest.mark.django_db
def test_saving_the_change_form_without_changes_writes_no_audit_row(staff_client):
    player = UserFactory(rank="PREMIUM", vip_points=7)
    url = reverse("admin:accounts_user_change", args=[player.pk])

    response = staff_client.post(url, user_change_form(player))

    assert response.status_code == 302
    assert AuditLogEntry.objects.count() == 0


@pytest.mark.django_db
def test_invite_code_batch_creation_is_audited_with_its_codes(staff_client):
    response = staff_client.post(
        reverse("admin:accounts_invitecode_generate"), {"count": "2", "max_uses": "3"}
    )

    assert response.status_code == 302
    codes = sorted(InviteCode.objects.values_list("code", flat=True))
    entry = AuditLogEntry.objects.get()
    assert (entry.actor.site_id, entry.action, entry.target) == (
        "staff",
        "invite_codes_create",
        "2 invite code(s) via admin",
    )
    assert {**entry.after, "codes": sorted(entry.after["codes"])} == {
        "count": 2,
        "codes": codes,
        "max_uses": 3,
        "expires_at": None,
        "note": "",
    }


@pytest.mark.django_db
def test_deactivating_codes_audits_only_the_codes_that_changed(staff_client):
    active = InviteCodeFactory(code="ACTIVE01")
    inactive = InviteCodeFactory(code="ASLEEP01", is_active=False)

    staff_client.post(
        CODE_CHANGELIST,
        {"action": "deactivate_codes", "_selected_action": [active.pk, inactive.pk]},
    )

    assert set(InviteCode.objects.values_list("code", "is_active")) == {
        ("ACTIVE01", False),
        ("ASLEEP01", False),
    }
    assert audit_rows() == [
        (
            "staff",
            "invite_codes_deactivate",
            None,
            {"is_active": True},
            {"is_active": False, "codes": ["ACTIVE01"]},
        )
    ]


@pytest.mark.django_db
def test_editing_one_code_in_its_form_audits_the_changed_fields(staff_client):
    code = InviteCodeFactory(code="EDITME01", max_uses=10)
    url = reverse("admin:accounts_invitecode_change", args=[code.pk])

    response = staff_client.post(
        url, {"code": "EDITME01", "max_uses": "25", "is_active": "on", "note": "launch"}
    )

    assert response.status_code == 302
    assert audit_rows() == [
        (
            "staff",
            "invite_code_change",
            None,
            {"max_uses": 10, "note": ""},
            {"max_uses": 25, "note": "launch"},
        )
    ]


@pytest.mark.django_db
def test_deleting_unused_codes_in_admin_is_audited(staff_client):
    InviteCodeFactory(code="GONE0001")
    InviteCodeFactory(code="GONE0002")

    response = staff_client.post(
        CODE_CHANGELIST,
        {
            "action": "delete_selected",
            "_selected_action": list(InviteCode.objects.values_list("pk", flat=True)),
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert InviteCode.objects.count() == 0
    entry = AuditLogEntry.objects.get()
    assert (entry.actor.site_id, entry.action, entry.target) == (
        "staff",
        "invite_codes_delete",
        "2 object(s)",
    )
    assert sorted(entry.before["deleted"]) == ["GONE0001", "GONE0002"]


@pytest.mark.django_db
def test_create_invite_codes_command_is_audited_without_an_actor():
    from django.core.management import call_command

    call_command("create_invite_codes", "--count", "1", stdout=io.StringIO())

    entry = AuditLogEntry.objects.get()
    assert (entry.actor, entry.action, entry.target) == (
        None,
        "invite_codes_create",
        "1 invite code(s) via manage.py create_invite_codes",
    )


# ---------------------------------------------------------------- admin: filters and CSV export


@pytest.fixture
def logged_actions(staff):
    other = UserFactory(site_id="other_staff", is_staff=True)
    player = UserFactory(site_id="victim01")
    services.audit_log_record(actor=staff, action="user_ban", target_user=player, reason="spam")
    services.audit_log_record(actor=other, action="gold_grant", target_user=player, reason="=1+1")
    services.audit_log_record(actor=None, action="users_import", target="import.csv")
    old = services.audit_log_record(actor=staff, action="user_unban", target_user=player)
    AuditLogEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    return {"staff": staff, "other": other, "player": player}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected_actions"),
    [
        ({"action": "gold_grant"}, ["gold_grant"]),
        ({"actor": "none"}, ["users_import"]),
        ({"q": "spam"}, ["user_ban"]),
        ({"created_at__year": "2000"}, []),
        (
            {"created_at__gte": (timezone.now() - timedelta(days=7)).isoformat()},
            ["users_import", "gold_grant", "user_ban"],
        ),
    ],
)
def test_audit_changelist_filters_by_action_actor_search_and_date(
    staff_client, logged_actions, query, expected_actions
):
    response = staff_client.get(AUDIT_CHANGELIST, query)

    assert response.status_code == 200
    assert [entry.action for entry in response.context["cl"].result_list] == expected_actions


@pytest.mark.django_db
def test_audit_changelist_filters_by_staff_actor(staff_client, logged_actions):
    response = staff_client.get(AUDIT_CHANGELIST, {"actor": str(logged_actions["staff"].pk)})

    assert sorted(entry.action for entry in response.context["cl"].result_list) == [
        "user_ban",
        "user_unban",
    ]
    assert f'href="{AUDIT_EXPORT}?actor={logged_actions["staff"].pk}"' in response.content.decode()


@pytest.mark.django_db
def test_csv_export_streams_the_filtered_rows_and_defuses_formulas(staff_client, logged_actions):
    player = logged_actions["player"]

    response = staff_client.get(AUDIT_EXPORT, {"actor": str(logged_actions["other"].pk)})

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    rows = read_csv(response)
    assert rows[0] == [
        "id", "created_at", "actor_id", "actor", "action", "target_user_id", "target", "reason",
        "before", "after",
    ]  # fmt: skip
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["actor"], row["action"], row["target_user_id"], row["target"]) == (
        "other_staff",
        "gold_grant",
        str(player.pk),
        str(player),
    )
    assert row["reason"] == "'=1+1"  # a spreadsheet shows it, never computes it
    assert (row["before"], row["after"]) == ("null", "null")


@pytest.mark.django_db
def test_csv_export_without_filters_has_every_row_newest_first(staff_client, logged_actions):
    rows = read_csv(staff_client.get(AUDIT_EXPORT))

    assert [row[4] for row in rows[1:]] == ["users_import", "gold_grant", "user_ban", "user_unban"]


@pytest.mark.django_db
def test_players_cannot_reach_the_audit_log_or_its_export(client, logged_actions):
    client.force_login(logged_actions["player"])

    for url in (AUDIT_CHANGELIST, AUDIT_EXPORT):
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (
            302,
            f"{reverse('admin:login')}?next={url}",
        )


@pytest.mark.django_db
def test_staff_without_view_permission_gets_403_from_the_export(client, logged_actions):
    client.force_login(UserFactory(is_staff=True))

    response = client.get(AUDIT_EXPORT)

    assert response.status_code == 403


@pytest.mark.django_db
def test_audit_rows_cannot_be_added_changed_or_deleted_in_admin(staff_client, logged_actions):
    entry = AuditLogEntry.objects.first()

    add = staff_client.get(reverse("admin:accounts_auditlogentry_add"))
    delete = staff_client.post(reverse("admin:accounts_auditlogentry_delete", args=[entry.pk]))

    assert add.status_code == 403
    assert delete.status_code == 403
    assert AuditLogEntry.objects.count() == 4
    assert User.objects.filter(site_id="victim01").exists()
