"""The development SMTP server keeps what it receives in ``CapturedEmail``; staff with the named
permission read it in the admin, read-only."""

from __future__ import annotations

import time

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import Permission
from django.core.mail import send_mail

from accounts.tests.factories import UserFactory, view_only_staff
from accounts.tests.smtp import free_port
from casinoclub.mail_capture import CapturingHandler, captured_email_store
from casinoclub.models import CapturedEmail

CHANGELIST = "/admin/casinoclub/capturedemail/"


@pytest.mark.django_db(transaction=True)
def test_the_capture_server_stores_every_message_it_receives(settings):
    port = free_port()
    controller = Controller(CapturingHandler(captured_email_store), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        sent = send_mail(
            "안녕 hello", "Body line", "Casino <no-reply@casino.test>", ["p@example.com"]
        )
        deadline = time.monotonic() + 5
        while not CapturedEmail.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        controller.stop()

    assert sent == 1
    row = CapturedEmail.objects.get()
    assert (row.mail_from, row.recipients, row.subject) == (
        "no-reply@casino.test",
        "p@example.com",
        "안녕 hello",
    )
    assert row.body_text.strip() == "Body line"


@pytest.mark.django_db
def test_only_staff_with_the_named_permission_read_captured_mail(client):
    mail = CapturedEmail.objects.create(
        mail_from="a@b.c", recipients="p@example.com", subject="Reset", raw="..."
    )
    reader = UserFactory(is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="read_captured_email"))

    client.force_login(view_only_staff())
    refused = client.get(CHANGELIST)
    client.force_login(reader)
    listed = client.get(CHANGELIST)
    detail = client.get(f"{CHANGELIST}{mail.pk}/change/")
    deleted = client.post(f"{CHANGELIST}{mail.pk}/delete/", {"post": "yes"})

    assert refused.status_code == 403
    assert listed.status_code == 200
    assert "Reset" in listed.content.decode()
    assert detail.status_code == 200
    assert deleted.status_code == 403
    assert CapturedEmail.objects.filter(pk=mail.pk).exists()
