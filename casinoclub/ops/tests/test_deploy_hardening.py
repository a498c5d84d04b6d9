"""The deployment files trust no client-supplied proxy header and log the real client."""

import re
import runpy
from pathlib import Path
from types import SimpleNamespace

import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
NGINX = ROOT / "deploy" / "nginx" / "nginx.conf"


def test_nginx_sets_the_forwarded_scheme_itself_and_appends_the_peer():
    config = NGINX.read_text()

    assert re.findall(r"proxy_set_header X-Forwarded-Proto (\S+);", config) == ["$scheme"]
    assert re.findall(r"proxy_set_header X-Forwarded-For (\S+);", config) == [
        "$proxy_add_x_forwarded_for"
    ]
    assert "$http_x_forwarded_proto" not in config


def test_compose_trusts_one_proxy_and_daphne_does_not_read_forwarded_headers_itself():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]

    assert services["web"]["environment"]["DJANGO_NUM_PROXIES"] == "1"
    # daphne's --proxy-headers takes the *first* X-Forwarded-For entry, which the client writes.
    assert "--proxy-headers" not in services["daphne"]["command"]


def test_compose_requires_each_of_the_four_secrets():
    environment = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"][
        "environment"
    ]

    for name in (
        "DJANGO_SECRET_KEY",
        "JWT_SIGNING_KEY",
        "PAYMENT_WEBHOOK_SECRET",
        "RECEIPT_SIGNING_KEY",
    ):
        assert environment[name] == f"${{{name}:?set {name}}}"


def test_the_access_log_names_the_client_behind_the_proxy(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    config = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    logger = config["logger_class"](
        SimpleNamespace(
            errorlog="-", loglevel="info", accesslog="-", syslog=False, capture_output=False,
            logconfig=None, logconfig_dict={}, logconfig_json=None, user=0, group=0,
            access_log_format="%(h)s", disable_redirect_access_to_syslog=False,
        )
    )  # fmt: skip
    environ = {
        "REMOTE_ADDR": "10.0.0.2",
        "HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.7",
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    response = SimpleNamespace(status="200 OK", response_length=2, sent=2, headers=[])
    request = SimpleNamespace(headers=[("X-FORWARDED-FOR", "1.2.3.4, 203.0.113.7")])

    atoms = logger.atoms(response, request, environ, SimpleNamespace(seconds=0, microseconds=0))

    assert atoms["h"] == "203.0.113.7"
