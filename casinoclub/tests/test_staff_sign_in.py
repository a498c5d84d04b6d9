"""The admin's staff sign-in: the players' lockout and the API's login rate limit (one budget),
an audit row per attempt, and with STAFF_REQUIRE_2FA an authenticator code or a recovery code
before the admin or a staff API route opens (docs/decisions/0125, 0126)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.permissions import IsAdminUser
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from accounts import exceptions, services
from accounts.models import AuditLogEntry, LedgerEntry, LoginFailure, User
from accounts.permissions import StaffSecondFactorVerified
from accounts.selectors import wallet_balance
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.test_races import run_together
from accounts.tokens import token_pair_for_user
from games.tests.factories import funded_player

ADMIN_LOGIN = "/admin/login/?next=/admin/"
API_LOGIN = "/api/auth/login"
WRONG = "Wrong-passw0rd!"
INVALID_LOGIN = "Please enter the correct site ID and password for a staff account."
INVALID_LOGIN_2FA = (
    "Please enter the correct site ID, password and verification code for a staff account."
)
LOCKED = "Too many failed logins. Try again in 10 minutes."
RATE_LIMITED = "Too many attempts from your network. Please wait a moment."


def staff(**fields: Any) -> User:
    return UserFactory(is_staff=True, **fields)  # type: ignore[no-any-return]


def admin_login(client: Client, site_id: str, password: str, otp_token: str | None = None) -> Any:
    body = {"username": site_id, "password": password, "next": "/admin/"}
    if otp_token is not None:
        body["otp_token"] = otp_token
    return client.post(ADMIN_LOGIN, body)


def form_errors(response: Any) -> list[str]:
    return list(response.context["form"].non_field_errors())


def current_code(device: TOTPDevice) -> str:
    token = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{token:0{device.digits}d}"


def sign_in_audits() -> list[tuple[str, int | None, str, dict[str, Any]]]:
    return [
        (row.action, row.target_user_id, row.target, row.after)
        for row in AuditLogEntry.objects.filter(action__startswith="staff_sign_in").order_by("pk")
    ]


# ---------------------------------------------------------------- lockout, audit (password only)


@pytest.mark.django_db
def test_staff_sign_in_with_the_right_password_opens_the_admin_and_is_audited():
    member = staff(site_id="opsstaff")
    client = Client()
    page = client.get(ADMIN_LOGIN)

    response = admin_login(client, "opsstaff", PASSWORD)

    assert 'name="otp_token"' not in page.content.decode()  # STAFF_REQUIRE_2FA is off
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert int(client.session[SESSION_KEY]) == member.pk
    assert client.get("/admin/").status_code == 200
    assert sign_in_audits() == [
        (
            "staff_sign_in",
            member.pk,
            str(member),
            {"ip_address": "127.0.0.1", "second_factor": None},
        )
    ]
    assert AuditLogEntry.objects.get(action="staff_sign_in").actor_id == member.pk


@pytest.mark.django_db
def test_a_wrong_admin_password_counts_toward_the_account_lockout_and_is_audited():
    member = staff(site_id="opsstaff")
    client = Client()

    response = admin_login(client, "opsstaff", WRONG)

    assert response.status_code == 200
    assert form_errors(response) == [INVALID_LOGIN]
    assert SESSION_KEY not in client.session
    assert list(LoginFailure.objects.values_list("lock_key", "ip_address")) == [
        (f"user:{member.pk}", "127.0.0.1")
    ]
    assert sign_in_audits() == [
        (
            "staff_sign_in_failed",
            member.pk,
            "opsstaff",
            {"reason": "invalid_credentials", "ip_address": "127.0.0.1"},
        )
    ]
    assert AuditLogEntry.objects.get().actor_id is None


@pytest.mark.django_db
def test_after_five_failures_even_the_right_admin_password_is_refused_with_the_lock_message():
    member = staff(site_id="opsstaff")
    client = Client()
    for _ in range(settings.LOGIN_LOCK_MAX_FAILURES):
        admin_login(client, "opsstaff", WRONG)

    response = admin_login(client, "opsstaff", PASSWORD)

    assert response.status_code == 200
    assert form_errors(response) == [LOCKED]
    assert SESSION_KEY not in client.session
    assert client.get("/admin/").status_code == 302
    assert LoginFailure.objects.filter(lock_key=f"user:{member.pk}").count() == 5
    assert sign_in_audits()[-1] == (
        "staff_sign_in_failed",
        member.pk,
        "opsstaff",
        {"reason": "login_locked", "ip_address": "127.0.0.1"},
    )
    assert not AuditLogEntry.objects.filter(action="staff_sign_in").exists()


@pytest.mark.django_db
def test_failures_at_the_api_login_lock_the_admin_login_and_the_other_way_round():
    staff(site_id="opsstaff")
    staff(site_id="otherstaff")
    api = APIClient()
    for _ in range(settings.LOGIN_LOCK_MAX_FAILURES):
        api.post(API_LOGIN, {"site_id": "opsstaff", "password": WRONG}, format="json")
    for _ in range(settings.LOGIN_LOCK_MAX_FAILURES):
        admin_login(Client(), "otherstaff", WRONG)

    admin_after_api = admin_login(Client(), "opsstaff", PASSWORD)
    api_after_admin = api.post(
        API_LOGIN, {"site_id": "otherstaff", "password": PASSWORD}, format="json"
    )

    assert form_errors(admin_after_api) == [LOCKED]
    assert api_after_admin.status_code == 429
    assert api_after_admin.json()["error"]["code"] == "login_locked"


@pytest.mark.django_db
def test_the_admin_login_answers_an_unknown_name_a_player_and_a_banned_account_alike():
    staff(site_id="opsstaff")
    UserFactory(site_id="justaplayer")
    staff(site_id="bannedstaff", is_active=False)

    answers = [
        form_errors(admin_login(Client(), site_id, password))
        for site_id, password in [
            ("opsstaff", WRONG),
            ("nosuchname", WRONG),
            ("justaplayer", PASSWORD),
            ("bannedstaff", PASSWORD),
        ]
    ]

    assert answers == [[INVALID_LOGIN]] * 4
    assert [after["reason"] for *_, after in sign_in_audits()] == [
        "invalid_credentials",
        "invalid_credentials",
        "not_staff",
        "account_banned",
    ]


@pytest.mark.django_db
def test_the_admin_login_shares_the_api_login_rate_limit_of_the_address(monkeypatch):
    # DRF copies DEFAULT_THROTTLE_RATES into this class attribute at import time.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "3/min"})
    member = staff(site_id="opsstaff")
    api = APIClient()
    first = api.post(API_LOGIN, {"site_id": "opsstaff", "password": WRONG}, format="json")
    second = admin_login(Client(), "opsstaff", WRONG)
    # A browser that already carries a session (here a player's) is counted by its address too.
    signed_in_browser = Client()
    signed_in_browser.force_login(UserFactory())
    third = admin_login(signed_in_browser, "opsstaff", WRONG)
    audits_before = AuditLogEntry.objects.count()

    throttled = admin_login(Client(), "opsstaff", PASSWORD)
    api_throttled = api.post(
        API_LOGIN, {"site_id": "opsstaff", "password": PASSWORD}, format="json"
    )

    assert first.status_code == 401
    assert form_errors(second) == form_errors(third) == [INVALID_LOGIN]
    assert throttled.status_code == 200
    assert form_errors(throttled) == [RATE_LIMITED]
    assert api_throttled.status_code == 429
    # Refused before the password is checked: no failure counted, no session, no audit row.
    assert LoginFailure.objects.filter(lock_key=f"user:{member.pk}").count() == 3
    assert AuditLogEntry.objects.count() == audits_before


# ---------------------------------------------------------------- second factor (STAFF_REQUIRE_2FA)


@pytest.fixture
def two_factor(settings: Any) -> None:
    settings.STAFF_REQUIRE_2FA = True


@pytest.fixture
def enrolled(db: Any) -> tuple[User, services.TotpEnrolment]:
    member = staff(site_id="opsstaff", is_superuser=True)
    return member, services.staff_totp_enrol(member)


@pytest.mark.django_db
def test_with_two_factor_a_password_alone_does_not_reach_the_admin(two_factor, enrolled):
    client = Client()
    page = client.get(ADMIN_LOGIN)

    without_code = admin_login(client, "opsstaff", PASSWORD)

    assert 'name="otp_token"' in page.content.decode()
    assert 'autocomplete="one-time-code"' in page.content.decode()
    assert without_code.status_code == 200
    assert form_errors(without_code) == [
        "Enter the verification code from your authenticator app, or a recovery code."
    ]
    assert SESSION_KEY not in client.session
    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"


@pytest.mark.django_db
def test_with_two_factor_a_session_from_the_player_login_page_does_not_open_the_admin(
    two_factor, enrolled
):
    client = Client()
    page_login = client.post("/login/", {"site_id": "opsstaff", "password": PASSWORD})

    response = client.get("/admin/")
    user_admin = client.get("/admin/accounts/user/")

    assert page_login.status_code == 302
    assert SESSION_KEY in client.session
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"
    assert user_admin.status_code == 302


@pytest.mark.django_db
def test_with_two_factor_the_authenticator_code_opens_the_admin(two_factor, enrolled):
    member, _ = enrolled
    device = TOTPDevice.objects.get(user=member)
    client = Client()

    response = admin_login(client, "opsstaff", PASSWORD, current_code(device))

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 200
    assert sign_in_audits()[-1] == (
        "staff_sign_in",
        member.pk,
        str(member),
        {"ip_address": "127.0.0.1", "second_factor": "authenticator"},
    )


@pytest.mark.django_db
def test_with_two_factor_a_wrong_code_is_refused_like_a_wrong_password(two_factor, enrolled):
    member, _ = enrolled
    device = TOTPDevice.objects.get(user=member)
    wrong_code = f"{(int(current_code(device)) + 1) % 10**6:06d}"
    client = Client()

    wrong_password = admin_login(Client(), "opsstaff", WRONG, current_code(device))
    response = admin_login(client, "opsstaff", PASSWORD, wrong_code)

    assert form_errors(response) == form_errors(wrong_password) == [INVALID_LOGIN_2FA]
    assert SESSION_KEY not in client.session
    assert [after["reason"] for *_, after in sign_in_audits()] == [
        "invalid_credentials",
        "second_factor_invalid",
    ]
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # django-otp slows down the next guesses


@pytest.mark.django_db
def test_with_two_factor_staff_without_an_authenticator_cannot_sign_in(two_factor):
    staff(site_id="newstaff")
    client = Client()

    response = admin_login(client, "newstaff", PASSWORD, "123456")

    assert form_errors(response) == [INVALID_LOGIN_2FA]
    assert SESSION_KEY not in client.session
    assert sign_in_audits()[-1][3] == {
        "reason": "second_factor_not_enrolled",
        "ip_address": "127.0.0.1",
    }


@pytest.mark.django_db
def test_a_recovery_code_signs_in_once(two_factor, enrolled):
    member, enrolment = enrolled
    code = enrolment.recovery_codes[3]
    first_client, second_client = Client(), Client()

    first = admin_login(first_client, "opsstaff", PASSWORD, f" {code.upper()} ")
    second = admin_login(second_client, "opsstaff", PASSWORD, code)

    assert first.status_code == 302
    assert first_client.get("/admin/").status_code == 200
    assert form_errors(second) == [INVALID_LOGIN_2FA]
    assert SESSION_KEY not in second_client.session
    remaining = set(StaticToken.objects.filter(device__user=member).values_list("token", flat=True))
    assert remaining == set(enrolment.recovery_codes) - {code}
    assert sign_in_audits()[0][3] == {
        "ip_address": "127.0.0.1",
        "second_factor": "recovery_code",
        "recovery_codes_left": 9,
    }


@pytest.mark.django_db(transaction=True)
def test_one_recovery_code_used_by_two_sign_ins_at_once_lets_only_one_in():
    member = staff(site_id="opsstaff")
    code = services.staff_totp_enrol(member).recovery_codes[0]

    def sign_in(index: int) -> str:
        try:
            services.staff_sign_in(
                identifier="opsstaff", password=PASSWORD, second_factor=code, ip_address=None
            )
        except exceptions.StaffSignInFailed:
            return "refused"
        return "signed in"

    results = run_together(6, sign_in)

    assert sorted(results) == ["refused"] * 5 + ["signed in"]
    assert StaticToken.objects.filter(token=code).count() == 0
    assert StaticToken.objects.filter(device__user=member).count() == 9


@pytest.mark.django_db
def test_replacing_the_authenticator_ends_the_sessions_the_old_one_verified(two_factor, enrolled):
    member, _ = enrolled
    client = Client()
    admin_login(client, "opsstaff", PASSWORD, current_code(TOTPDevice.objects.get(user=member)))
    assert client.get("/admin/").status_code == 200

    services.staff_totp_enrol(member, replace=True)

    assert client.get("/admin/").status_code == 302
    assert StaticDevice.objects.filter(user=member).count() == 1


# ---------------------------------------------------------------- staff API routes


@pytest.mark.django_db
def test_with_two_factor_staff_api_routes_refuse_a_bearer_token_and_an_unverified_session(
    settings, enrolled
):
    member, _ = enrolled
    target = funded_player(500)
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(member)['access']}")
    unverified = Client()
    unverified.force_login(member)
    password_only = bearer.get("/api/admin/stats")
    settings.STAFF_REQUIRE_2FA = True

    by_token = bearer.get("/api/admin/stats")
    by_unverified_session = unverified.get("/api/admin/stats")
    gold = bearer.post(
        f"/api/admin/users/{target.pk}/gold",
        {"amount": 100, "reason": "test"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="two-factor-gold-1",
    )

    assert password_only.status_code == 200  # without the setting, as before
    for response in (by_token, by_unverified_session, gold):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "second_factor_required"
    assert wallet_balance(target.pk) == 500
    assert LedgerEntry.objects.filter(wallet__user=target).count() == 1  # the funding only


@pytest.mark.django_db
def test_with_two_factor_a_verified_admin_session_reaches_the_staff_api(two_factor, enrolled):
    member, _ = enrolled
    client = Client()
    admin_login(client, "opsstaff", PASSWORD, current_code(TOTPDevice.objects.get(user=member)))

    response = client.get("/api/admin/stats")

    assert response.status_code == 200


def _api_views(patterns: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            found += _api_views(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and hasattr(entry.callback, "cls"):
            found.append((prefix + str(entry.pattern), entry.callback.cls))
    return found


def test_every_staff_api_route_requires_the_second_factor_check():
    views = _api_views(get_resolver().url_patterns)
    staff_views = [
        (path, view)
        for path, view in views
        if path.startswith("api/admin/") or IsAdminUser in view.permission_classes
    ]

    assert {path for path, _ in staff_views} >= {
        "api/admin/stats",
        "api/admin/users/<int:user_id>/gold",
    }
    for path, view in staff_views:
        assert StaffSecondFactorVerified in view.permission_classes, path


def test_authenticator_secrets_and_recovery_codes_are_not_in_the_admin():
    from django.contrib import admin

    assert not admin.site.is_registered(TOTPDevice)
    assert not admin.site.is_registered(StaticDevice)
