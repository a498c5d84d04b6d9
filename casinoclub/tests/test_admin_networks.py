"""``ADMIN_ALLOWED_NETWORKS``: the admin answers only clients from the listed networks."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

PROXY = "10.0.0.2"
OFFICE = "192.168.1.40"
OUTSIDER = "203.0.113.7"


@pytest.fixture
def office_only(settings):
    settings.ADMIN_ALLOWED_NETWORKS = ["10.8.0.0/16", "192.168.1.0/24"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}


def admin_get(admin_user, client_ip: str, forged: str = "", path: str = "/admin/"):
    client = Client()
    client.force_login(admin_user)
    forwarded = f"{forged}, {client_ip}" if forged else client_ip
    return client.get(path, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)


@pytest.mark.django_db
def test_staff_inside_a_listed_network_reach_the_admin(office_only, admin_user):
    response = admin_get(admin_user, OFFICE)

    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/", "/admin/login/", "/admin/accounts/user/"])
def test_outside_the_listed_networks_the_admin_does_not_exist(office_only, admin_user, path):
    response = admin_get(admin_user, OUTSIDER, path=path)

    assert response.status_code == 404
    assert b"Django administration" not in response.content


@pytest.mark.django_db
def test_a_forged_forwarded_entry_does_not_open_the_admin(office_only, admin_user):
    response = admin_get(admin_user, OUTSIDER, forged=OFFICE)

    assert response.status_code == 404


@pytest.mark.django_db
def test_the_rest_of_the_site_is_not_limited(office_only):
    response = Client().get("/login/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=OUTSIDER)

    assert response.status_code == 200


@pytest.mark.django_db
def test_without_the_setting_the_admin_answers_everywhere(settings, admin_user):
    settings.ADMIN_ALLOWED_NETWORKS = []

    response = admin_get(admin_user, OUTSIDER)

    assert response.status_code == 200


def test_an_invalid_network_stops_start_up_naming_it():
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=Path(django_settings.BASE_DIR),
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "casinoclub.settings.test",
            "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "ADMIN_ALLOWED_NETWORKS": "10.0.0.0/8,10.0.0.0/33",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: ADMIN_ALLOWED_NETWORKS: '10.0.0.0/33' is "
        "not an IP network ('10.0.0.0/33' does not appear to be an IPv4 or IPv6 network)"
    )
