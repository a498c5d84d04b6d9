"""``GET /metrics``: Prometheus text with django-prometheus request metrics and our own counters."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from accounts.tests.factories import UserFactory

LOGIN = "/api/auth/login"


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.content.decode()


def sample_value(text: str, name: str, labels: dict[str, str] | None = None) -> float:
    """The value of one sample; 0 when a labelled series has not been created yet."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == (labels or {}):
                return sample.value
    return 0.0


@pytest.mark.django_db
def test_metrics_serves_prometheus_text_with_request_and_product_metrics(api_client):
    api_client.get("/health")

    response = api_client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=1.0.0; charset=utf-8"
    text = response.content.decode()
    assert "# TYPE auth_login_locked_total counter" in text
    assert "# TYPE django_http_requests_total_by_method_total counter" in text
    assert 'django_http_requests_total_by_method_total{method="GET"}' in text
    assert sample_value(text, "django_http_requests_total_by_method_total", {"method": "GET"}) >= 1


@pytest.mark.django_db
def test_each_request_is_counted_once_by_view_and_status(api_client):
    series = {"method": "GET", "status": "200", "view": "health"}
    name = "django_http_responses_total_by_status_view_method_total"
    before = sample_value(scrape(api_client), name, series)

    api_client.get("/health")

    assert sample_value(scrape(api_client), name, series) == before + 1


@pytest.mark.django_db
def test_locked_login_increments_auth_login_locked_total_once(api_client, settings):
    UserFactory(site_id="lockme")
    wrong = {"site_id": "lockme", "password": "wrong-password-1"}
    for _ in range(settings.LOGIN_LOCK_MAX_FAILURES):
        assert api_client.post(LOGIN, wrong, format="json").status_code == 401
    before = sample_value(scrape(api_client), "auth_login_locked_total")

    response = api_client.post(LOGIN, wrong, format="json")

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "login_locked"
    assert sample_value(scrape(api_client), "auth_login_locked_total") == before + 1
