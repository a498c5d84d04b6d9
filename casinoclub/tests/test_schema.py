"""The OpenAPI contract: a committed snapshot, generated without warnings, served with Swagger UI."""

from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS, reset_generator_stats

SNAPSHOT = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"
SWAGGER_BUNDLE = "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"


def test_committed_openapi_snapshot_matches_a_fresh_warning_free_generation(tmp_path):
    reset_generator_stats()  # warnings are cached class-wide; start from none
    fresh = tmp_path / "openapi.yaml"

    # --fail-on-warn raises SchemaGenerationError on any warning, --validate on an invalid schema.
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(fresh))

    assert not GENERATOR_STATS
    assert fresh.read_text() == SNAPSHOT.read_text(), "docs/openapi.yaml is stale: `make schema`"


def test_export_openapi_writes_the_same_schema(tmp_path):
    reset_generator_stats()
    target = tmp_path / "exported.yaml"
    out = StringIO()

    call_command("export_openapi", "--file", str(target), stdout=out)

    assert out.getvalue() == f"wrote {target}\n"
    assert target.read_text() == SNAPSHOT.read_text()


def test_snapshot_documents_bearer_auth_on_private_routes_only():
    schema = yaml.safe_load(SNAPSHOT.read_text())

    # The player pages call the API with their session cookie (docs/decisions/0060).
    assert schema["components"]["securitySchemes"] == {
        "jwtAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
    }
    assert schema["paths"]["/api/users/me"]["get"]["security"] == [
        {"jwtAuth": []},
        {"cookieAuth": []},
    ]
    assert schema["paths"]["/api/auth/login"]["post"]["security"] == [{}]


@pytest.mark.django_db
def test_schema_endpoint_serves_the_snapshot(api_client):
    response = api_client.get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.oai.openapi; charset=utf-8"
    assert yaml.safe_load(response.content) == yaml.safe_load(SNAPSHOT.read_text())


@pytest.mark.django_db
def test_swagger_ui_is_served_from_local_static_files_not_a_cdn(api_client):
    response = api_client.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert f'<script src="/static/{SWAGGER_BUNDLE}"></script>' in html
    # The start-up script is a file too (no inline script under the CSP: docs/decisions/0117).
    assert '<script src="/api/docs/?script="></script>' in html
    assert "<script>" not in html
    script = api_client.get("/api/docs/?script=")
    assert script["Content-Type"] == "application/javascript"
    assert '"/api/schema/"' in script.content.decode()
    for cdn in ("cdn", "jsdelivr", "unpkg", "cloudflare", "https://"):
        assert cdn not in html.lower()
        assert cdn not in script.content.decode().lower()
    assert finders.find(SWAGGER_BUNDLE) is not None
