"""E-mail addresses (set, verify once, expire) and the password reset by e-mail, delivered to a
real SMTP server (aiosmtpd on a free port) through Django's SMTP backend."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services.email import email_verification_token
from accounts.tests.factories import UserFactory
from accounts.tests.smtp import smtp_server, use_smtp
from accounts.tokens import token_pair_for_user

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "An0ther-Str0ng-pass!"
RESET_LINK = re.compile(r"http://testserver(/password-reset/(?P<uid>[^/]+)/(?P<token>[^/]+)/)")
VERIFY_LINK = re.compile(r"http://testserver(/email/verify/(?P<token>[^/\s]+)/)")


@pytest.fixture(autouse=True)
def _site_url(settings):  # type: ignore[no-untyped-def]
    settings.SITE_URL = "http://testserver"


def verified_player(email="ada@example.com", language="en"):  # type: ignore[no-untyped-def]
    return UserFactory(email=email, email_verified_at=timezone.now(), language=language)


def ask_reset(email, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post("/api/auth/password-reset", {"email": email}, format="json")
    return response


def test_the_reset_mail_arrives_at_the_smtp_server_and_its_link_works_once(
    settings, django_capture_on_commit_callbacks
):
    player = verified_player()
    with smtp_server() as server:
        use_smtp(settings, server)

        response = ask_reset("ADA@example.com", django_capture_on_commit_callbacks)
        [message] = server.wait_for(1)

    assert response.status_code == 202
    assert response.json() == {
        "detail": "If this address is verified on an account, a reset link is on its way."
    }
    assert message.recipients == ["ada@example.com"]
    assert message.subject == "Reset your Casino Club password"
    assert "text/html" in message.raw
    path = RESET_LINK.search(message.body_text).group(1)
    browser = Client()
    opened = browser.get(path)
    assert opened.status_code == 302  # Django keeps the token in the session
    form_page = browser.get(opened["Location"])
    assert form_page.context["validlink"] is True
    done = browser.post(
        opened["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert done["Location"] == "/password-reset/done/"
    player.refresh_from_db()
    assert player.check_password(NEW_PASSWORD)

    again = Client().get(path, follow=True)
    assert again.context["validlink"] is False
    assert b'data-testid="reset-link-invalid"' in again.content


def test_a_reset_through_the_api_revokes_every_token_and_works_once(
    settings, django_capture_on_commit_callbacks
):
    player = verified_player()
    tokens = token_pair_for_user(player)
    with smtp_server() as server:
        use_smtp(settings, server)
        ask_reset("ada@example.com", django_capture_on_commit_callbacks)
        [message] = server.wait_for(1)
    link = RESET_LINK.search(message.body_text)
    body = {"uid": link["uid"], "token": link["token"], "new_password": NEW_PASSWORD}

    first = APIClient().post("/api/auth/password-reset/confirm", body, format="json")
    second = APIClient().post(
        "/api/auth/password-reset/confirm",
        {**body, "new_password": "Th1rd-Str0ng-pass!"},
        format="json",
    )

    assert first.status_code == 204
    assert second.status_code == 400
    assert second.json()["error"]["code"] == "reset_link_invalid"
    player.refresh_from_db()
    assert player.check_password(NEW_PASSWORD)
    old_access = APIClient()
    old_access.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert old_access.get("/api/users/me").status_code == 401
    refreshed = APIClient().post("/api/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 401
    login = APIClient().post(
        "/api/auth/login", {"site_id": player.site_id, "password": NEW_PASSWORD}, format="json"
    )
    assert login.status_code == 200


def test_the_reset_mail_is_in_the_players_language(settings, django_capture_on_commit_callbacks):
    verified_player(email="min@example.com", language="ko")
    with smtp_server() as server:
        use_smtp(settings, server)
        ask_reset("min@example.com", django_capture_on_commit_callbacks)
        [message] = server.wait_for(1)

    assert message.subject == "카지노 클럽 비밀번호 재설정"
    assert "새 비밀번호" in message.body_text


@pytest.mark.parametrize("email", ["nobody@example.com", "unverified@example.com"])
def test_no_mail_to_an_unknown_or_unverified_address_and_the_same_answer(
    settings, django_capture_on_commit_callbacks, email
):
    UserFactory(email="unverified@example.com")
    with smtp_server() as server:
        use_smtp(settings, server)
        response = ask_reset(email, django_capture_on_commit_callbacks)
        received = server.wait_for(1, timeout=0.5)

    assert response.status_code == 202
    assert response.json() == {
        "detail": "If this address is verified on an account, a reset link is on its way."
    }
    assert received == []


def test_a_forged_reset_link_is_refused_and_changes_nothing():
    player = verified_player()
    before = User.objects.get(pk=player.pk).password

    response = APIClient().post(
        "/api/auth/password-reset/confirm",
        {"uid": "MQ", "token": "abc-def", "new_password": NEW_PASSWORD},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "reset_link_invalid"
    assert User.objects.get(pk=player.pk).password == before


def test_setting_an_address_sends_a_link_that_verifies_it_once(
    settings, player, player_client, django_capture_on_commit_callbacks
):
    with smtp_server() as server:
        use_smtp(settings, server)
        with django_capture_on_commit_callbacks(execute=True):
            response = player_client.put(
                "/api/users/me/email",
                {"email": "Grace@Example.COM"},
                format="json",
                HTTP_ACCEPT_LANGUAGE="ko",
            )
        [message] = server.wait_for(1)

    assert response.status_code == 200
    assert response.json() == {"email": "Grace@example.com", "email_verified": False}
    assert message.recipients == ["Grace@example.com"]
    assert message.subject == "카지노 클럽 이메일 주소 확인"
    path = VERIFY_LINK.search(message.body_text).group(1)
    first = Client().get(path)
    second = Client().get(path)
    assert first.status_code == 200
    assert b'data-testid="email-verified"' in first.content
    assert second.status_code == 400
    player.refresh_from_db()
    assert player.email_verified_at is not None


def test_changing_the_address_clears_its_verification_and_the_old_link_fails(player, player_client):
    player.email = "old@example.com"
    player.save()
    old_token = email_verification_token(player)

    player_client.put("/api/users/me/email", {"email": "new@example.com"}, format="json")
    response = APIClient().post("/api/users/email/verify", {"token": old_token}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "email_verification_invalid"
    player.refresh_from_db()
    assert (player.email, player.email_verified_at) == ("new@example.com", None)


def test_changing_a_verified_address_clears_the_verification(player_client):
    player = verified_player()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for_user(player)['access']}")

    response = client.put("/api/users/me/email", {"email": "ada2@example.com"}, format="json")

    assert response.json() == {"email": "ada2@example.com", "email_verified": False}
    player.refresh_from_db()
    assert player.email_verified_at is None


def test_an_expired_verification_link_is_refused(settings, player):
    player.email = "late@example.com"
    player.save()
    token = email_verification_token(player)
    settings.EMAIL_VERIFICATION_TIMEOUT_SECONDS = -1  # every token is older than this

    response = APIClient().post("/api/users/email/verify", {"token": token}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "email_verification_invalid"
    player.refresh_from_db()
    assert player.email_verified_at is None


def test_an_address_of_another_account_is_refused(player, player_client):
    UserFactory(email="taken@example.com")

    response = player_client.put(
        "/api/users/me/email", {"email": "TAKEN@example.com"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"
    player.refresh_from_db()
    assert player.email == ""


@pytest.mark.parametrize("forgery", ["signature", "other_salt"])
def test_a_verification_token_cannot_be_forged(player, forgery):
    from django.core import signing

    player.email = "mine@example.com"
    player.save()
    payload, signature = email_verification_token(player).rsplit(":", 1)
    forged = {
        "signature": f"{payload}:{signature[::-1]}",
        # signed by the same key for another purpose: the salt tells them apart
        "other_salt": signing.dumps({"user": player.pk, "email": "mine@example.com"}),
    }[forgery]

    response = APIClient().post("/api/users/email/verify", {"token": forged}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "email_verification_invalid"
    player.refresh_from_db()
    assert player.email_verified_at is None


def test_an_unreachable_relay_never_fails_the_players_request(
    settings, player, player_client, django_capture_on_commit_callbacks
):
    from accounts.tests.smtp import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 1
    verified_player(email="down@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        changed = player_client.put(
            "/api/users/me/email", {"email": "x@example.com"}, format="json"
        )
        reset = APIClient().post(
            "/api/auth/password-reset", {"email": "down@example.com"}, format="json"
        )

    assert changed.status_code == 200
    assert reset.status_code == 202
    player.refresh_from_db()
    assert player.email == "x@example.com"
