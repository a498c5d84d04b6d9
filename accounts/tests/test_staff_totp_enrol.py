"""``manage.py staff_totp_enrol``: an authenticator secret and recovery codes for a staff member."""

from __future__ import annotations

import re
from io import StringIO
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditLogEntry
from accounts.tests.factories import PASSWORD, UserFactory
from casinoclub.tests.test_production_settings import PRODUCTION_ENVIRONMENT, run_manage


def enrol(*args: str) -> str:
    out = StringIO()
    call_command("staff_totp_enrol", *args, stdout=out)
    return out.getvalue()


def printed_codes(output: str) -> list[str]:
    section = output.split("Recovery codes (each works once; keep them offline):\n", 1)[1]
    return [line.strip() for line in section.splitlines() if line.strip()]


def printed_url(output: str) -> str:
    match = re.search(r"^otpauth://\S+$", output, re.MULTILINE)
    assert match is not None, output
    return match.group(0)


@pytest.mark.django_db
def test_enrolment_prints_an_authenticator_url_that_signs_in_and_ten_recovery_codes(settings):
    settings.STAFF_REQUIRE_2FA = True
    member = UserFactory(site_id="opsstaff", is_staff=True)

    output = enrol("opsstaff")

    url = urlsplit(printed_url(output))
    query = parse_qs(url.query)
    assert (url.scheme, url.netloc, unquote(url.path)) == (
        "otpauth",
        "totp",
        "/Casino Club:opsstaff",
    )
    assert query["issuer"] == ["Casino Club"]
    assert (query["digits"], query["period"], query["algorithm"]) == (["6"], ["30"], ["SHA1"])
    device = TOTPDevice.objects.get(user=member)
    assert device.confirmed is True
    assert f"Secret (to type in by hand): {query['secret'][0]}" in output
    assert "█" in output or "▀" in output or "▄" in output  # the QR code
    codes = printed_codes(output)
    assert len(codes) == len(set(codes)) == 10
    assert set(StaticToken.objects.filter(device__user=member).values_list("token", flat=True)) == (
        set(codes)
    )
    # What an authenticator app shows for that secret opens the admin.
    code = f"{totp(device.bin_key):06d}"
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "opsstaff", "password": PASSWORD, "otp_token": code},
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    audit = AuditLogEntry.objects.get(action="staff_second_factor_enrol")
    assert (audit.actor_id, audit.target_user_id, audit.after) == (
        None,
        member.pk,
        {"replaced": False, "recovery_codes": 10},
    )


@pytest.mark.django_db
def test_a_second_enrolment_needs_replace_and_then_the_old_secret_and_codes_stop_working():
    member = UserFactory(site_id="opsstaff", is_staff=True)
    first = enrol("opsstaff", "--no-qr")
    old_key = TOTPDevice.objects.get(user=member).key

    with pytest.raises(CommandError, match="already has an authenticator"):
        enrol("opsstaff")
    assert TOTPDevice.objects.get(user=member).key == old_key

    second = enrol("opsstaff", "--replace", "--no-qr")

    device = TOTPDevice.objects.get(user=member)
    assert device.key != old_key
    assert printed_url(second) != printed_url(first)
    tokens = set(StaticToken.objects.filter(device__user=member).values_list("token", flat=True))
    assert tokens == set(printed_codes(second))
    assert not tokens & set(printed_codes(first))
    assert AuditLogEntry.objects.filter(action="staff_second_factor_enrol").count() == 2
    assert AuditLogEntry.objects.order_by("-pk").first().after == {  # type: ignore[union-attr]
        "replaced": True,
        "recovery_codes": 10,
    }


@pytest.mark.django_db
def test_recovery_codes_can_be_renewed_alone():
    member = UserFactory(site_id="opsstaff", is_staff=True)
    first = enrol("opsstaff", "--no-qr")
    key = TOTPDevice.objects.get(user=member).key

    output = enrol("opsstaff", "--recovery-codes")

    assert "otpauth://" not in output
    assert TOTPDevice.objects.get(user=member).key == key
    tokens = set(StaticToken.objects.filter(device__user=member).values_list("token", flat=True))
    assert tokens == set(printed_codes(output))
    assert len(tokens) == 10
    assert not tokens & set(printed_codes(first))
    assert AuditLogEntry.objects.filter(action="staff_recovery_codes_renew").count() == 1


@pytest.mark.django_db
def test_players_and_unknown_accounts_cannot_be_enrolled():
    player = UserFactory(site_id="justaplayer")

    with pytest.raises(CommandError, match="not staff"):
        enrol("justaplayer")
    with pytest.raises(CommandError, match="No account 'nobody'"):
        enrol("nobody")

    assert not TOTPDevice.objects.filter(user=player).exists()
    assert not StaticToken.objects.exists()
    assert not AuditLogEntry.objects.exists()


def test_production_requires_the_second_factor_and_cannot_turn_it_off():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.STAFF_REQUIRE_2FA)",
        **PRODUCTION_ENVIRONMENT,
        STAFF_REQUIRE_2FA="false",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"
    assert settings.STAFF_REQUIRE_2FA is False  # the test settings: password-only by default
