"""One client address for rate limits, the login lockout's records and the admin allow-list.

Behind a reverse proxy every request comes from the proxy's address (REMOTE_ADDR); the client is
the entry the proxy appended to X-Forwarded-For (``DJANGO_NUM_PROXIES`` of them from the right).
"""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import LoginFailure
from accounts.tests.factories import PASSWORD, UserFactory
from casinoclub.client_address import client_address_from_meta
from casinoclub.throttling import ScopedRateThrottle

LOGIN = "/api/auth/login"
PROXY = "10.0.0.2"
ALICE = "203.0.113.7"
BOB = "198.51.100.9"


@pytest.mark.parametrize(
    ("num_proxies", "forwarded_for", "expected"),
    [
        (0, None, PROXY),
        (0, f"{ALICE}", PROXY),  # no proxy trusted: the header is the client's own words
        (1, None, PROXY),
        (1, ALICE, ALICE),
        (1, f"1.2.3.4, {ALICE}", ALICE),  # the forged first entry is ignored
        (1, f" 1.2.3.4 ,{ALICE} ", ALICE),
        (2, f"1.2.3.4, {ALICE}, 10.0.0.1", ALICE),
        (2, ALICE, ALICE),  # fewer entries than proxies: the outermost proxy's
        (1, "not-an-address", PROXY),
        (1, "2001:db8::1", "2001:db8::1"),
        (1, " , ", PROXY),
    ],
)
def test_the_client_is_the_entry_the_trusted_proxies_appended(num_proxies, forwarded_for, expected):
    meta = {"REMOTE_ADDR": PROXY}
    if forwarded_for is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded_for

    assert client_address_from_meta(meta, num_proxies) == expected


def test_the_number_of_proxies_comes_from_the_one_setting(settings):
    meta = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"1.2.3.4, {ALICE}"}

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    behind_one = client_address_from_meta(meta)
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 2}
    behind_two = client_address_from_meta(meta)

    assert (behind_one, behind_two) == (ALICE, "1.2.3.4")


@pytest.fixture
def behind_one_proxy(settings, monkeypatch):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "login", "2/min")


def login_from(client_ip: str, forged: str = "", **body: str):
    forwarded = f"{forged}, {client_ip}" if forged else client_ip
    return APIClient().post(
        LOGIN, body, format="json", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded
    )


@pytest.mark.django_db
def test_clients_behind_one_proxy_each_have_their_own_login_rate_limit(behind_one_proxy):
    UserFactory(site_id="alice01")
    credentials = {"site_id": "alice01", "password": PASSWORD}
    alice = [login_from(ALICE, **credentials).status_code for _ in range(3)]

    bob = login_from(BOB, **credentials)
    alice_forging = login_from(ALICE, forged=BOB, **credentials)

    assert alice == [200, 200, 429]
    assert bob.status_code == 200
    assert alice_forging.status_code == 429


@pytest.mark.django_db
def test_a_failed_api_login_records_the_client_not_the_proxy(behind_one_proxy):
    UserFactory(site_id="alice01")

    response = login_from(ALICE, forged="1.2.3.4", site_id="alice01", password="wrong-password")

    assert response.status_code == 401
    assert list(LoginFailure.objects.values_list("ip_address", flat=True)) == [ALICE]


@pytest.mark.django_db
def test_a_failed_page_login_records_the_client_not_the_proxy(behind_one_proxy):
    UserFactory(site_id="alice01")

    response = Client().post(
        "/login/",
        {"site_id": "alice01", "password": "wrong-password"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"1.2.3.4, {ALICE}",
    )

    assert response.status_code == 401
    assert list(LoginFailure.objects.values_list("ip_address", flat=True)) == [ALICE]


@pytest.mark.django_db
def test_the_login_page_rate_limit_is_per_client_behind_the_proxy(behind_one_proxy):
    def page_login(client_ip: str) -> int:
        return (
            Client()
            .post(
                "/login/",
                {"site_id": "nobody", "password": "wrong-password"},
                REMOTE_ADDR=PROXY,
                HTTP_X_FORWARDED_FOR=client_ip,
            )
            .status_code
        )

    alice = [page_login(ALICE) for _ in range(3)]
    bob = page_login(BOB)

    assert alice == [401, 401, 429]
    assert bob == 401
