"""Every response carries the security headers; the policy allows no inline script anywhere."""

import pytest
from django.test import Client

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
PERMISSIONS = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "usb=()"
)


def directives(header: str) -> dict[str, str]:
    """The policy's directives (django-csp does not keep their order)."""
    return dict(directive.strip().split(" ", 1) for directive in header.split(";"))


def assert_security_headers(response) -> None:
    assert directives(response["Content-Security-Policy"]) == POLICY
    assert response["Permissions-Policy"] == PERMISSIONS
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/", "/login/", "/signup/", "/admin/login/", "/api/metrics/global"]
)
def test_pages_the_admin_and_the_api_carry_the_security_headers(path):
    response = Client().get(path)

    assert response.status_code == 200
    assert_security_headers(response)


@pytest.mark.django_db
def test_an_error_page_carries_them_too():
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert_security_headers(response)


@pytest.mark.django_db
def test_the_api_docs_alone_allow_inline_styles_and_still_no_inline_script():
    response = Client().get("/api/docs/")

    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self' 'unsafe-inline'"
