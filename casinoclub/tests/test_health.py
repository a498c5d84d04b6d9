"""``GET /health``: the load balancer's view of PostgreSQL and Redis."""

import pytest


@pytest.mark.django_db
def test_health_is_ok_when_database_and_redis_answer(api_client):
    response = api_client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


@pytest.mark.django_db
def test_health_is_503_when_redis_is_down(api_client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = api_client.get("/health")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "unavailable"},
    }


@pytest.mark.django_db
def test_health_needs_no_login_even_with_a_bad_token(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")

    response = api_client.get("/health")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
