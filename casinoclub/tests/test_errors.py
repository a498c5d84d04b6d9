"""Every failure, from Django's URL resolver to an exception deep in a view, uses one envelope."""

import json

import pytest
from django.test import Client, RequestFactory
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.models import LoginFailure, User
from accounts.tests.factories import PASSWORD, UserFactory
from casinoclub.errors import csrf_failure

LOGIN = "/api/auth/login"
ME = "/api/users/me"


class ExplodingView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        raise RuntimeError("secret-internal-detail")


# This module doubles as a test-only URLconf (see ``pytest.mark.urls`` below).
urlpatterns = [path("boom", ExplodingView.as_view())]


@pytest.mark.django_db
def test_unknown_path_gets_the_json_404_envelope(api_client):
    response = api_client.get("/api/nope")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not found.", "details": None}
    }


@pytest.mark.django_db
def test_wrong_method_is_405_method_not_allowed(api_client):
    response = api_client.get(LOGIN)

    assert response.status_code == 405
    assert response["Allow"] == "POST, OPTIONS"
    assert response.json() == {
        "error": {
            "code": "method_not_allowed",
            "message": 'Method "GET" not allowed.',
            "details": None,
        }
    }


@pytest.mark.django_db
def test_missing_token_is_401_not_authenticated(api_client):
    response = api_client.get(ME)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
            "details": None,
        }
    }


@pytest.mark.django_db
def test_garbage_bearer_token_is_401_token_not_valid(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")

    response = api_client.get(ME)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {
        "error": {
            "code": "token_not_valid",
            "message": "Given token not valid for any token type",
            "details": None,
        }
    }


@pytest.mark.django_db
def test_malformed_json_is_400_malformed_request(api_client):
    response = api_client.post(LOGIN, data='{"site_id": ', content_type="application/json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "malformed_request"
    assert error["message"].startswith("JSON parse error - ")
    assert error["details"] is None
    assert LoginFailure.objects.count() == 0


def login_body_of_size(site_id: str, size: int) -> str:
    """Valid credentials padded with JSON whitespace: only the size can make the login fail."""
    body = json.dumps({"site_id": site_id, "password": PASSWORD})
    return body + " " * (size - len(body))


@pytest.mark.django_db
def test_body_over_the_upload_limit_is_400_request_too_large(api_client, settings):
    UserFactory(site_id="bigbody")
    body = login_body_of_size("bigbody", settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = api_client.post(LOGIN, data=body, content_type="application/json")

    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 64 * 1024
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "request_too_large",
            "message": "The request body is too large.",
            "details": None,
        }
    }
    assert User.objects.get(site_id="bigbody").last_login is None
    assert LoginFailure.objects.count() == 0


@pytest.mark.django_db
def test_body_exactly_at_the_upload_limit_is_accepted(api_client, settings):
    UserFactory(site_id="fitbody")
    body = login_body_of_size("fitbody", settings.DATA_UPLOAD_MAX_MEMORY_SIZE)

    response = api_client.post(LOGIN, data=body, content_type="application/json")

    assert response.status_code == 200
    assert User.objects.get(site_id="fitbody").last_login is not None


@pytest.mark.django_db
def test_form_body_over_the_upload_limit_outside_drf_gets_the_envelope_too(client, settings):
    # The admin login form is a plain Django view: Django's handler400 answers.
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = client.post("/admin/login/", {"username": "a", "password": "b", "pad": padding})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": {
            "code": "request_too_large",
            "message": "The request body is too large.",
            "details": None,
        }
    }


@pytest.mark.django_db
def test_throttled_login_is_429_rate_limited_with_retry_after(api_client, monkeypatch):
    # DRF copies DEFAULT_THROTTLE_RATES into this class attribute at import time, so overriding
    # settings would not reach it.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "2/min"})
    UserFactory(site_id="throttled")
    credentials = {"site_id": "throttled", "password": PASSWORD}
    first = api_client.post(LOGIN, credentials, format="json")
    second = api_client.post(LOGIN, credentials, format="json")

    response = api_client.post(LOGIN, credentials, format="json")

    assert (first.status_code, second.status_code) == (200, 200)
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert response.json() == {
        "error": {
            "code": "rate_limited",
            "message": "Request was throttled. Expected available in 60 seconds.",
            "details": {"retry_after_seconds": 60},
        }
    }


@pytest.mark.urls("casinoclub.tests.test_errors")
def test_unexpected_exception_in_a_view_is_500_internal_error_without_traceback(api_client, caplog):
    response = api_client.get("/boom")

    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "internal_error",
            "message": "Something went wrong on our side.",
            "details": None,
        }
    }
    text = response.content.decode()
    assert "Traceback" not in text
    assert "secret-internal-detail" not in text
    assert "RuntimeError" not in text
    logged = [r for r in caplog.records if r.name == "casinoclub.errors"]
    assert [r.getMessage() for r in logged] == ["unhandled error in ExplodingView /boom"]
    assert logged[0].exc_info is not None
    assert logged[0].exc_info[0] is RuntimeError


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_an_api_path_no_route_matches_gets_the_envelope_in_every_settings_module(
    api_client, settings, debug
):
    settings.DEBUG = debug

    response = api_client.get("/api/events/null,null")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_an_api_path_that_exists_with_a_slash_is_still_redirected_to_it(api_client):
    response = api_client.get("/api/achievements?page=2")

    assert response.status_code == 301
    assert response["Location"] == "/api/achievements/?page=2"


@pytest.mark.django_db
def test_a_missing_page_is_a_page_for_people_not_json(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "Page not found" in response.content.decode()


@pytest.mark.django_db
def test_a_post_to_an_unknown_api_path_is_404_not_a_csrf_page():
    client = Client(enforce_csrf_checks=True)

    response = client.post("/api/admin/users/null,null/gold", {}, content_type="application/json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_a_csrf_failure_under_the_api_is_the_envelope_and_a_page_elsewhere():
    answer = csrf_failure(RequestFactory().post("/api/auth/logout"), reason="CSRF cookie not set.")

    assert answer.status_code == 403
    assert json.loads(answer.content)["error"]["code"] == "csrf_failed"
    page = csrf_failure(RequestFactory().post("/login/"), reason="CSRF cookie not set.")
    assert page["Content-Type"].startswith("text/html")
