"""docker-compose.yml without a Docker engine: valid against the compose specification, and every
file, image build, command and setting it relies on exists.

The schema is the compose specification's own JSON schema (compose-spec/compose-spec,
schema/compose-spec.json) as vendored by the ``check-jsonschema`` package (a dev dependency):
``check_jsonschema/builtin_schemas/vendor/compose-spec.json``.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands

ROOT = Path(settings.BASE_DIR)
COMPOSE_FILE = ROOT / "docker-compose.yml"
VENV_BIN = Path(sys.executable).parent
APP_COMMANDS = {"python", "gunicorn", "daphne", "celery"}


def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())  # resolves the x-app anchors and merges


def compose_schema() -> dict:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return json.loads(vendored.read_text())


def app_services() -> dict[str, dict]:
    return {
        name: service
        for name, service in compose()["services"].items()
        if service.get("build", {}).get("target") == "app"
    }


def test_the_compose_file_is_valid_against_the_compose_specification():
    schema = compose_schema()
    validator_class = jsonschema.validators.validator_for(schema)

    errors = sorted(validator_class(schema).iter_errors(compose()), key=str)

    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []


def test_the_schema_check_catches_a_broken_file():
    broken = compose()
    broken["services"]["web"]["restart_policy"] = "always"  # not a compose key
    broken["services"]["proxy"]["depends_on"]["web"]["condition"] = "whenever"
    schema = compose_schema()

    errors = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(broken))

    messages = " ".join(str(error.message) for error in errors)
    assert "'restart_policy' was unexpected" in messages
    assert "'condition': 'whenever'" in messages  # reported as matching no depends_on form


def test_the_production_shape_has_every_service_and_health_checks():
    services = compose()["services"]

    assert set(services) == {
        "postgres", "redis", "migrate", "web", "daphne", "worker", "projections-0", "beat",
        "crash-loop", "proxy", "alerts-render", "prometheus", "grafana",
    }  # fmt: skip
    one_shot = {"migrate", "alerts-render"}
    for name, service in services.items():
        if name not in one_shot:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert services["web"]["command"][0] == "gunicorn"
    assert services["web"]["command"][-1] == "casinoclub.wsgi:application"
    assert services["daphne"]["command"][0] == "daphne"
    assert services["daphne"]["command"][-1] == "casinoclub.asgi:application"
    assert services["crash-loop"]["command"][:3] == ["python", "manage.py", "run_crash_loop"]
    # partition 0's projection runs are routed to their own queue, which this worker consumes
    command = services["projections-0"]["command"]
    assert command[command.index("-Q") + 1] == "projections.0"


def test_every_file_and_build_context_the_compose_file_names_exists():
    for name, service in compose()["services"].items():
        build = service.get("build")
        if build:
            context = ROOT / build["context"]
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name
            if "target" in build:
                dockerfile = (context / build.get("dockerfile", "Dockerfile")).read_text()
                assert re.search(rf"^FROM .+ AS {build['target']}$", dockerfile, re.M), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
        for env_file in service.get("env_file", []):
            path = env_file if isinstance(env_file, str) else env_file["path"]
            required = True if isinstance(env_file, str) else env_file.get("required", True)
            assert not required or (ROOT / path).exists(), f"{name}: {path}"


def test_named_volumes_are_declared():
    document = compose()
    declared = set(document["volumes"])

    for name, service in document["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} is not declared"


def test_every_app_command_exists_in_the_image():
    commands = get_commands()
    for name, service in app_services().items():
        command = service["command"]
        assert command[0] in APP_COMMANDS, name
        if command[0] == "python":
            assert command[1] == "manage.py", name
            assert command[2] in commands, name
        else:
            assert shutil.which(command[0], path=str(VENV_BIN)), f"{name}: {command[0]}"
        if command[0] == "gunicorn":
            assert (ROOT / command[command.index("-c") + 1]).is_file(), name
        if command[0] == "celery":
            assert command[command.index("-A") + 1] == "casinoclub"
    render = compose()["services"]["alerts-render"]["command"]
    assert render[1] == "/monitoring/render_alerts.py"
    assert (ROOT / "monitoring" / "render_alerts.py").is_file()


def test_gunicorn_loads_the_wsgi_application_with_the_compose_config():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "casinoclub.settings.test"}

    result = subprocess.run(
        [str(VENV_BIN / "gunicorn"), "--check-config", "-c", "deploy/gunicorn.conf.py",
         "casinoclub.wsgi:application"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_variable_the_compose_file_reads_is_in_env_example():
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE_FILE.read_text()))
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#? ?([A-Z0-9_]+)=", example, re.M))

    assert used - documented == set()


@pytest.mark.parametrize(
    ("location", "upstream"),
    [("/api/realtime/", "daphne"), ("= /api/metrics/stream", "daphne"), ("/", "web")],
)
def test_the_proxy_routes_sockets_and_the_stream_to_daphne_and_the_rest_to_gunicorn(
    location, upstream
):
    config = (ROOT / "deploy" / "nginx" / "nginx.conf").read_text()

    block = re.search(rf"location {re.escape(location)} \{{(.*?)\n        \}}", config, re.S)

    assert block is not None
    assert f"proxy_pass http://{upstream};" in block.group(1)


def test_the_proxy_keeps_metrics_internal_and_serves_static_files():
    config = (ROOT / "deploy" / "nginx" / "nginx.conf").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "location = /metrics {\n            return 404;" in config
    assert "alias /usr/share/nginx/static/;" in config
    assert "COPY --from=app /app/staticfiles /usr/share/nginx/static" in dockerfile


def test_production_allows_its_own_addresses_as_hosts_only_when_asked():
    from casinoclub.tests.test_production_settings import PRODUCTION_ENVIRONMENT, run_manage

    env = dict(PRODUCTION_ENVIRONMENT)
    show = ("shell", "-c", "from django.conf import settings; print(settings.ALLOWED_HOSTS)")

    plain = run_manage(*show, **env)
    compose_like = run_manage(*show, **env, DJANGO_ALLOWED_HOSTS_INCLUDE_OWN_IPS="true")

    assert plain.stdout.splitlines()[-1] == "['casino.example']", plain.stderr
    hosts = compose_like.stdout.splitlines()[-1]
    assert hosts.startswith("['casino.example', '127.0.0.1'"), compose_like.stderr
