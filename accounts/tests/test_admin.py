"""Django admin: finding players, banning and unbanning them, and batch invite codes."""

import json

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import AuditLogEntry, InviteCode, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tokens import token_pair_for_user

USER_CHANGELIST = reverse("admin:accounts_user_changelist")
GENERATE_CODES = reverse("admin:accounts_invitecode_generate")
ME = "/api/users/me"
NEW_PASSWORD = "Reset-by-staff-0001!"


@pytest.fixture
def staff(db):
    return UserFactory(site_id="staff", nickname="Staff", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.mark.django_db
def test_user_changelist_search_by_nickname_finds_the_player(staff_client):
    match = UserFactory(nickname="LuckySeven")
    UserFactory(nickname="Unrelated")

    response = staff_client.get(USER_CHANGELIST, {"q": "luckyseven"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [match]
    assert "LuckySeven" in response.content.decode()
    assert "Unrelated" not in response.content.decode()


@pytest.mark.django_db
def test_ban_action_deactivates_selected_players_and_kills_their_tokens(
    staff_client, staff, client_for
):
    banned = UserFactory()
    bystander = UserFactory()
    banned_api = client_for(banned)
    bystander_api = client_for(bystander)
    assert banned_api.get(ME).status_code == 200

    response = staff_client.post(
        USER_CHANGELIST,
        {"action": "ban_users", "reason": "abuse", "_selected_action": [banned.pk, staff.pk]},
    )

    assert response.status_code == 302
    assert response["Location"] == USER_CHANGELIST
    banned.refresh_from_db()
    assert banned.is_active is False
    assert banned.token_version == 1
    me = banned_api.get(ME)
    assert me.status_code == 401
    assert me.json() == {
        "error": {"code": "authentication_failed", "message": "User is inactive", "details": None}
    }
    # The acting staff member is never banned by their own action; others are untouched.
    assert User.objects.values_list("is_active", "token_version").get(pk=staff.pk) == (True, 0)
    assert User.objects.values_list("is_active", "token_version").get(pk=bystander.pk) == (True, 0)
    assert bystander_api.get(ME).status_code == 200


@pytest.mark.django_db
def test_unban_action_reactivates_the_player_who_can_then_log_in_again(
    staff_client, client_for, api_client
):
    player = UserFactory(site_id="comeback")
    old_api = client_for(player)
    staff_client.post(
        USER_CHANGELIST, {"action": "ban_users", "reason": "abuse", "_selected_action": [player.pk]}
    )

    response = staff_client.post(
        USER_CHANGELIST,
        {"action": "unban_users", "reason": "appeal", "_selected_action": [player.pk]},
    )

    assert response.status_code == 302
    player.refresh_from_db()
    assert player.is_active is True
    # Tokens issued before the ban stay revoked; a fresh login works.
    stale = old_api.get(ME)
    assert stale.status_code == 401
    assert stale.json()["error"]["message"] == "Token has been revoked."
    assert client_for(player).get(ME).status_code == 200


@pytest.mark.django_db
def test_generate_view_creates_exactly_the_requested_codes(staff_client, staff):
    form = staff_client.get(GENERATE_CODES)
    assert form.status_code == 200

    response = staff_client.post(GENERATE_CODES, {"count": "3", "max_uses": "2"})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:accounts_invitecode_changelist")
    codes = list(InviteCode.objects.all())
    assert len(codes) == 3
    assert len({code.code for code in codes}) == 3
    assert {(c.max_uses, c.uses, c.expires_at, c.is_active, c.note) for c in codes} == {
        (2, 0, None, True, "")
    }
    assert {code.created_by for code in codes} == {staff}


@pytest.mark.django_db
def test_generate_view_with_an_invalid_count_creates_nothing(staff_client):
    response = staff_client.post(GENERATE_CODES, {"count": "0", "max_uses": "2"})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "count": ["Ensure this value is greater than or equal to 1."]
    }
    assert InviteCode.objects.count() == 0


@pytest.mark.django_db
def test_non_staff_player_is_sent_to_the_admin_login_from_generate(client, player):
    client.force_login(player)

    get = client.get(GENERATE_CODES)
    post = client.post(GENERATE_CODES, {"count": "3", "max_uses": "2"})

    login_url = f"{reverse('admin:login')}?next={GENERATE_CODES}"
    assert (get.status_code, get["Location"]) == (302, login_url)
    assert (post.status_code, post["Location"]) == (302, login_url)
    assert InviteCode.objects.count() == 0


@pytest.mark.django_db
def test_staff_without_add_permission_cannot_generate_codes(client):
    client.force_login(UserFactory(is_staff=True))

    response = client.post(GENERATE_CODES, {"count": "3", "max_uses": "2"})

    assert response.status_code == 403
    assert InviteCode.objects.count() == 0


def admin_password_url(user) -> str:  # type: ignore[no-untyped-def]
    return reverse("admin:auth_user_password_change", args=[user.pk])


def token_client(tokens: dict) -> "APIClient":
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return client


@pytest.mark.django_db
def test_an_admin_password_reset_revokes_every_token_and_session_and_is_audited(
    staff_client, staff
):
    player = UserFactory()
    tokens = token_pair_for_user(player)
    page = Client()
    page.force_login(player)
    assert page.get(ME).status_code == 200

    response = staff_client.post(
        admin_password_url(player),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:accounts_user_change", args=[player.pk])
    player.refresh_from_db()
    assert player.check_password(NEW_PASSWORD)
    assert player.token_version == 1
    assert token_client(tokens).get(ME).status_code == 401
    refreshed = APIClient().post("/api/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 401
    assert page.get(ME).status_code == 401
    entry = AuditLogEntry.objects.get(action="user_password_reset")
    assert (entry.actor, entry.target_user) == (staff, player)
    assert entry.after == {"usable_password": True, "sessions_revoked": True}
    assert entry.before is None
    assert player.password not in json.dumps(
        [entry.before, entry.after, entry.target, entry.reason]
    )
    assert staff_client.get(USER_CHANGELIST).status_code == 200  # the staff member stays signed in


@pytest.mark.django_db
def test_disabling_password_login_in_the_admin_also_revokes_tokens(staff_client, staff):
    player = UserFactory()
    tokens = token_pair_for_user(player)

    response = staff_client.post(
        admin_password_url(player), {"usable_password": "false", "unset-password": "1"}
    )

    assert response.status_code == 302
    player.refresh_from_db()
    assert player.has_usable_password() is False
    assert token_client(tokens).get(ME).status_code == 401
    entry = AuditLogEntry.objects.get(action="user_password_reset")
    assert entry.after == {"usable_password": False, "sessions_revoked": True}


@pytest.mark.django_db
def test_an_invalid_admin_password_form_changes_nothing(staff_client):
    player = UserFactory()
    tokens = token_pair_for_user(player)
    password_hash = player.password

    response = staff_client.post(
        admin_password_url(player),
        {"password1": NEW_PASSWORD, "password2": "different", "usable_password": "true"},
    )

    assert response.status_code == 200
    player.refresh_from_db()
    assert player.password == password_hash
    assert player.token_version == 0
    assert token_client(tokens).get(ME).status_code == 200
    assert not AuditLogEntry.objects.filter(action="user_password_reset").exists()


@pytest.mark.django_db
def test_staff_resetting_their_own_password_in_the_admin_stay_signed_in(staff_client, staff):
    response = staff_client.post(
        admin_password_url(staff),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302
    assert staff_client.get(USER_CHANGELIST).status_code == 200
    assert AuditLogEntry.objects.get(action="user_password_reset").target_user == staff


@pytest.mark.django_db
def test_a_player_cannot_reach_the_admin_password_form(client):
    player, victim = UserFactory(), UserFactory()
    client.force_login(player)
    password_hash = victim.password

    response = client.post(
        admin_password_url(victim),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    victim.refresh_from_db()
    assert victim.password == password_hash
    assert not AuditLogEntry.objects.exists()


def change_form_data(staff_client, user: User, **changes: object) -> dict:
    """The admin change form's own values for ``user``, with ``changes`` applied."""
    response = staff_client.get(reverse("admin:accounts_user_change", args=[user.pk]))
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form.initial.get(name)
        if value is None:
            continue
        data[name] = [item.pk for item in value] if hasattr(value, "all") else value
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"nickname": "Fam0us"}, "nickname"), ({"site_id": "famous"}, "site_id")],
)
@pytest.mark.django_db
def test_admin_cannot_give_a_player_a_name_that_looks_like_another_players(
    staff_client, changes, field
):
    UserFactory(site_id="owner01", nickname="Famous")
    UserFactory(site_id="famous_fan", nickname="FamousFan")
    target = UserFactory(site_id="target01", nickname="Target")

    response = staff_client.post(
        reverse("admin:accounts_user_change", args=[target.pk]),
        change_form_data(staff_client, target, **changes),
    )

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    target.refresh_from_db()
    assert (target.site_id, target.nickname) == ("target01", "Target")


@pytest.mark.django_db
def test_admin_may_rename_a_player_to_a_free_nickname(staff_client):
    target = UserFactory(site_id="target01", nickname="Target")

    response = staff_client.post(
        reverse("admin:accounts_user_change", args=[target.pk]),
        change_form_data(staff_client, target, nickname="Renamed"),
    )

    assert response.status_code == 302
    target.refresh_from_db()
    assert target.nickname == "Renamed"
    assert sorted(target.login_names.values_list("skeleton", flat=True)) == [
        "renamed",
        "targetol",  # 0 → o, 1 → l
    ]


@pytest.mark.django_db
def test_admin_add_form_refuses_a_look_alike_and_creates_a_free_name(staff_client):
    UserFactory(site_id="owner01", nickname="Famous")
    add_url = reverse("admin:accounts_user_add")
    form = {
        "site_id": "newcomer",
        "phone_number": "01055556666",
        "password1": "Str0ng-passw0rd!",
        "password2": "Str0ng-passw0rd!",
        "usable_password": "true",
        "birth_date": "1990-05-17",
    }

    refused = staff_client.post(add_url, {**form, "nickname": "FAMOUS"})
    created = staff_client.post(add_url, {**form, "nickname": "Newcomer"})

    assert refused.status_code == 200
    assert "nickname" in refused.context["adminform"].form.errors
    assert created.status_code == 302
    newcomer = User.objects.get(site_id="newcomer")
    assert newcomer.nickname == "Newcomer"
    assert list(newcomer.login_names.values_list("skeleton", flat=True)) == ["newcomer"]


@pytest.mark.django_db
def test_a_staff_members_own_password_change_ends_their_other_sessions_and_is_audited(
    staff_client, staff
):
    tokens = token_pair_for_user(staff)
    other_browser = Client()
    other_browser.force_login(staff)
    assert other_browser.get(USER_CHANGELIST).status_code == 200

    response = staff_client.post(
        reverse("admin:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.check_password(NEW_PASSWORD)
    assert token_client(tokens).get(ME).status_code == 401
    assert other_browser.get(USER_CHANGELIST).status_code == 302  # sent to the admin login
    assert staff_client.get(USER_CHANGELIST).status_code == 200  # this session stays
    entry = AuditLogEntry.objects.get(action="user_password_reset")
    assert (entry.actor, entry.target_user) == (staff, staff)
    assert staff.password not in json.dumps([entry.before, entry.after, entry.reason])


@pytest.mark.django_db
def test_a_wrong_old_password_in_the_admin_changes_nothing(staff_client, staff):
    tokens = token_pair_for_user(staff)

    response = staff_client.post(
        reverse("admin:password_change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    staff.refresh_from_db()
    assert staff.check_password(PASSWORD)
    assert token_client(tokens).get(ME).status_code == 200
    assert not AuditLogEntry.objects.filter(action="user_password_reset").exists()
