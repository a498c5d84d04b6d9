"""Every unmatched ``/api/`` path answers the JSON envelope under every settings module, with
``DEBUG`` on and off (docs/decisions/0160): never Django's HTML debug or CSRF page.

Each case starts a fresh interpreter on that settings module (settings are read once per process)
and calls the URLs through Django's test client; nothing there reaches a database or Redis.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from casinoclub.tests.test_production_settings import CONTROLLED, PRODUCTION_ENVIRONMENT

PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client(enforce_csrf_checks=True, HTTP_HOST="casino.example")
get = client.get("/api/events/null,null", secure=True)
post = client.post(
    "/api/admin/users/null,null/gold", "{}", content_type="application/json", secure=True
)
print(json.dumps({
    "debug": settings.DEBUG,
    "get": [get.status_code, get["Content-Type"], json.loads(get.content)["error"]["code"]],
    "post": [post.status_code, post["Content-Type"], json.loads(post.content)["error"]["code"]],
}))
"""


@pytest.mark.parametrize("module", ["local", "test", "production"])
@pytest.mark.parametrize("debug", ["true", "false"])
def test_an_unmatched_api_path_is_the_envelope_under_every_settings_module(module, debug):
    base_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PAYMENT_")) and k not in CONTROLLED
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=Path(settings.BASE_DIR),
        env={
            **base_env,
            **PRODUCTION_ENVIRONMENT,
            "DJANGO_SETTINGS_MODULE": f"casinoclub.settings.{module}",
            "DJANGO_DEBUG": debug,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["get"] == [404, "application/json", "not_found"]
    assert answer["post"] == [404, "application/json", "not_found"]
    assert answer["debug"] is (debug == "true" and module != "production")
