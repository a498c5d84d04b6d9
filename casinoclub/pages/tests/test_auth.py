"""Signup, login and logout forms (the API's account services behind a Django session), CSRF on
the forms and on session-authenticated API calls, and the language."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone

from accounts.models import LoginFailure, User
from accounts.selectors import wallet_balance
from accounts.tests.factories import PASSWORD, InviteCodeFactory, UserFactory
from games.tests.factories import funded_player

SIGNUP = {
    "site_id": "newplayer",
    "nickname": "NewPlayer",
    "phone_number": "01012345678",
    "password": "Very-str0ng-pass!",
    "invite_code": "5858",
    "birth_date": "1990-05-17",
}


def _ten_years_ago() -> str:
    today = timezone.localdate()
    return today.replace(year=today.year - 10, day=min(today.day, 28)).isoformat()


def _csrf_client() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    return client, client.cookies["csrftoken"].value


@pytest.mark.django_db
def test_signup_creates_the_player_through_the_signup_service_and_logs_them_in():
    invite = InviteCodeFactory(max_uses=2)
    client, token = _csrf_client()

    response = client.post(
        "/signup/", {**SIGNUP, "invite_code": invite.code, "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(site_id="newplayer")
    assert (user.nickname, user.birth_date) == ("NewPlayer", date(1990, 5, 17))
    assert wallet_balance(user.pk) == settings.SIGNUP_BONUS_GOLD
    invite.refresh_from_db()
    assert invite.uses == 1
    assert int(client.session[SESSION_KEY]) == user.pk
    home = client.get("/")
    assert (
        f'data-testid="gold-balance" data-value="{settings.SIGNUP_BONUS_GOLD}"'
        in home.content.decode()
    )


@pytest.mark.django_db
def test_signup_with_an_unknown_invite_code_shows_the_error_and_creates_nobody():
    client, token = _csrf_client()

    response = client.post(
        "/signup/", {**SIGNUP, "invite_code": "NOPE0000", "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert (
        'data-testid="form-error" role="alert" tabindex="-1" data-code="invite_code_invalid">This invite code does not exist.</div>'
        in html
    )
    assert 'value="newplayer"' in html  # the form keeps what was typed (not the password)
    assert not User.objects.filter(site_id="newplayer").exists()
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_signup_under_the_minimum_age_is_refused_like_the_api():
    client, token = _csrf_client()

    response = client.post(
        "/signup/",
        {**SIGNUP, "birth_date": _ten_years_ago(), "csrfmiddlewaretoken": token},
    )

    assert response.status_code == 400
    assert 'data-code="age_restricted"' in response.content.decode()
    assert not User.objects.filter(site_id="newplayer").exists()


@pytest.mark.django_db
def test_signup_with_invalid_fields_lists_the_field_errors():
    client, token = _csrf_client()

    response = client.post(
        "/signup/", {**SIGNUP, "birth_date": "", "site_id": "", "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-code="validation_error"' in html
    assert 'id="err_site_id"' in html
    assert 'id="err_birth_date"' in html
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_signup_shows_every_broken_rule_at_once_each_next_to_its_field():
    # given an underage birth date, an unknown invite code, a weak password and a bad nickname
    client, token = _csrf_client()

    # when the form is sent
    response = client.post(
        "/signup/",
        {
            **SIGNUP,
            "birth_date": _ten_years_ago(),
            "invite_code": "NOPE0000",
            "password": "qz7",
            "nickname": "x",
            "csrfmiddlewaretoken": token,
        },
    )

    # then each field names its own rule, and nobody is created
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-code="validation_error"' in html
    assert (
        '<p class="field-error" id="err_birth_date" data-testid="field-error-birth_date">'
        "You must be at least 18 years old to sign up.</p>" in html
    )
    assert (
        '<p class="field-error" id="err_invite_code" data-testid="field-error-invite_code">'
        "This invite code does not exist.</p>" in html
    )
    assert (
        '<p class="field-error" id="err_password" data-testid="field-error-password">'
        "This password is too short. It must contain at least 8 characters.</p>" in html
    )
    assert (
        '<p class="field-error" id="err_nickname" data-testid="field-error-nickname">'
        "2–20 letters, digits or underscores.</p>" in html
    )
    assert 'id="err_site_id"' not in html
    assert 'id="err_phone_number"' not in html
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_a_blank_birth_date_is_required_not_a_wrong_format():
    client, token = _csrf_client()

    response = client.post("/signup/", {**SIGNUP, "birth_date": "", "csrfmiddlewaretoken": token})

    assert response.status_code == 400
    assert (
        '<p class="field-error" id="err_birth_date" data-testid="field-error-birth_date">'
        "This field is required.</p>" in response.content.decode()
    )
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_the_signup_form_shows_the_nickname_and_password_rules_before_submitting():
    response = Client().get("/signup/")

    html = response.content.decode()
    assert (
        '<p class="hint" id="hint_nickname">2–20 letters, digits or underscores; '
        "other players see it.</p>" in html
    )
    assert (
        "<li>Your password can’t be too similar to your other personal information.</li>"
        "<li>Your password must contain at least 8 characters.</li>"
        "<li>Your password can’t be a commonly used password.</li>"
        "<li>Your password can’t be entirely numeric.</li>" in html
    )


@pytest.mark.django_db
def test_login_logs_in_by_site_id_and_follows_a_local_next():
    user = funded_player()
    client, token = _csrf_client()

    response = client.post(
        "/login/",
        {
            "site_id": user.site_id,
            "password": PASSWORD,
            "next": "/shop/",
            "csrfmiddlewaretoken": token,
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/shop/"
    assert int(client.session[SESSION_KEY]) == user.pk


@pytest.mark.django_db
def test_login_never_redirects_to_another_site():
    user = funded_player()
    client, token = _csrf_client()

    response = client.post(
        "/login/",
        {
            "site_id": user.nickname,
            "password": PASSWORD,
            "next": "https://evil.example/",
            "csrfmiddlewaretoken": token,
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_a_wrong_password_shows_the_error_and_counts_toward_the_shared_lockout(api_client):
    user = UserFactory()
    client, token = _csrf_client()
    form = {"site_id": user.site_id, "password": "wrong-password", "csrfmiddlewaretoken": token}

    responses = [client.post("/login/", form) for _ in range(settings.LOGIN_LOCK_MAX_FAILURES)]

    assert [r.status_code for r in responses] == [401] * settings.LOGIN_LOCK_MAX_FAILURES
    assert (
        'data-code="invalid_credentials">The login or password is wrong.</div>'
        in responses[0].content.decode()
    )
    assert LoginFailure.objects.count() == settings.LOGIN_LOCK_MAX_FAILURES
    assert SESSION_KEY not in client.session
    # the right password is now refused, on the page and on the API alike
    locked_page = client.post("/login/", {**form, "password": PASSWORD})
    assert locked_page.status_code == 429
    assert 'data-code="login_locked"' in locked_page.content.decode()
    assert "Try again in 10 minutes." in locked_page.content.decode()
    locked_api = api_client.post(
        "/api/auth/login", {"site_id": user.site_id, "password": PASSWORD}, format="json"
    )
    assert locked_api.status_code == 429
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_a_banned_player_cannot_log_in_on_the_page():
    user = UserFactory(is_active=False)
    client, token = _csrf_client()

    response = client.post(
        "/login/", {"site_id": user.site_id, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 403
    assert 'data-code="account_banned"' in response.content.decode()
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_the_forms_refuse_a_post_without_the_csrf_token():
    user = UserFactory()
    client = Client(enforce_csrf_checks=True)

    login = client.post("/login/", {"site_id": user.site_id, "password": PASSWORD})
    signup = client.post("/signup/", SIGNUP)

    assert (login.status_code, signup.status_code) == (403, 403)
    assert SESSION_KEY not in client.session
    assert not User.objects.filter(site_id="newplayer").exists()


@pytest.mark.django_db
def test_logout_is_post_only_csrf_protected_and_ends_the_session(page_player):
    client, _ = _csrf_client()
    client.force_login(page_player)
    session_key = client.session.session_key

    get = client.get("/logout/")
    without_token = client.post("/logout/")
    assert (get.status_code, without_token.status_code) == (405, 403)
    assert client.get("/profile/").status_code == 200

    response = client.post("/logout/", {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert client.get("/profile/")["Location"] == "/login/?next=/profile/"
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=session_key).exists()


@pytest.mark.django_db
def test_logging_out_everywhere_through_the_api_ends_the_page_session_too(page_player, client_for):
    # given a player signed in on the pages
    page = Client()
    page.force_login(page_player)
    assert page.get("/profile/").status_code == 200

    # when they log out everywhere from another device (JWT API)
    response = client_for(page_player).post("/api/auth/logout-all", {}, format="json")

    # then the page session no longer signs them in
    assert response.status_code == 204
    assert page.get("/profile/")["Location"] == "/login/?next=/profile/"


@pytest.mark.django_db
def test_a_page_session_survives_requests_that_do_not_revoke_tokens(page_player, client_for):
    page = Client()
    page.force_login(page_player)

    client_for(page_player).get("/api/users/me")  # minting and using a token revokes nothing

    assert page.get("/profile/").status_code == 200


@pytest.mark.django_db
def test_a_session_api_call_without_the_csrf_header_is_refused_and_moves_no_gold(page_player):
    client = Client(enforce_csrf_checks=True)
    client.force_login(page_player)
    client.get("/")
    token = client.cookies["csrftoken"].value

    refused = client.post(
        "/api/games/slot/spin", {"bet": 10}, content_type="application/json",
        headers={"Idempotency-Key": "page-spin-00001"},
    )  # fmt: skip
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert wallet_balance(page_player.pk) == 5_000

    spun = client.post(
        "/api/games/slot/spin", {"bet": 10}, content_type="application/json",
        headers={"Idempotency-Key": "page-spin-00002", "X-CSRFToken": token},
    )  # fmt: skip
    assert spun.status_code == 200
    assert spun.json()["round"]["bet"] == 10
    assert wallet_balance(page_player.pk) == 5_000 - 10 + spun.json()["round"]["payout"]


@pytest.mark.django_db
def test_a_session_get_needs_no_csrf_header_and_jwt_clients_are_unchanged(page_client, api_client):
    me = page_client.get("/api/users/me")
    anonymous = api_client.get("/api/users/me")

    assert me.status_code == 200
    assert me.json()["gold"] == 5_000
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_accept_language_ko_renders_korean(client):
    response = client.get("/login/", headers={"Accept-Language": "ko"})

    html = response.content.decode()
    assert '<html lang="ko"' in html
    assert "로그인" in html
    assert response["Content-Language"] == "ko"


@pytest.mark.django_db
def test_the_language_switch_persists_over_accept_language(page_client):
    page_client.get("/")

    switched = page_client.post("/i18n/setlang/", {"language": "ko", "next": "/play/slot/"})

    assert switched.status_code == 302
    assert switched["Location"] == "/play/slot/"
    page = page_client.get("/play/slot/", headers={"Accept-Language": "en"})
    html = page.content.decode()
    assert '<html lang="ko"' in html
    assert "슬롯" in html
    catalog = page_client.get("/jsi18n/").content.decode()
    assert "\\uc2e4\\ud328" in catalog or "실패" in catalog  # "Purchase failed." in Korean


@pytest.mark.django_db
def test_changing_the_password_from_the_profile_page_keeps_this_session_and_ends_the_others(
    page_player, client_for
):
    # given the player signed in on two browsers and one token device
    tab = Client(enforce_csrf_checks=True)
    tab.force_login(page_player)
    assert 'data-testid="password-form"' in tab.get("/profile/").content.decode()
    token = tab.cookies["csrftoken"].value
    old_session_key = tab.session.session_key
    other_browser = Client()
    other_browser.force_login(page_player)
    device = client_for(page_player)
    body = {"current_password": PASSWORD, "new_password": "Brand-new-passw0rd!"}

    # when the page posts the change (session cookie + CSRF header, as static/js/profile.js does)
    refused = tab.post("/api/auth/password", body, content_type="application/json")
    response = tab.post(
        "/api/auth/password", body, content_type="application/json", headers={"X-CSRFToken": token}
    )

    # then this tab stays signed in under a new session key; everything else is signed out
    assert refused.status_code == 403
    assert response.status_code == 204
    assert tab.get("/profile/").status_code == 200
    assert tab.session.session_key != old_session_key
    assert other_browser.get("/profile/")["Location"] == "/login/?next=/profile/"
    assert device.get("/api/users/me").status_code == 401
    page_player.refresh_from_db()
    assert page_player.check_password("Brand-new-passw0rd!")


@pytest.mark.django_db
def test_a_wrong_current_password_on_the_page_changes_nothing(page_player):
    tab = Client(enforce_csrf_checks=True)
    tab.force_login(page_player)
    tab.get("/profile/")
    body = {"current_password": "not-it", "new_password": "Brand-new-passw0rd!"}

    response = tab.post(
        "/api/auth/password",
        body,
        content_type="application/json",
        headers={"X-CSRFToken": tab.cookies["csrftoken"].value},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "password_incorrect"
    assert tab.get("/profile/").status_code == 200
    page_player.refresh_from_db()
    assert page_player.check_password(PASSWORD)
