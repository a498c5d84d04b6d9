"""The monitoring files in the repository: alert rules and Grafana panels use only metrics the
application emits, and the committed rules are the template rendered with the defaults.
``promtool check rules`` runs in ``make lint``."""

import importlib
import json
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.apps import apps
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

MONITORING = Path(settings.BASE_DIR) / "monitoring"
ALERTS = MONITORING / "prometheus" / "alerts.yml"
DASHBOARDS = MONITORING / "grafana" / "dashboards"

# Metrics that rules or panels may use before the code that emits them has landed.
NOT_YET_EMITTED = {
    # Emitted by the shop (shop/metrics.py, purchases): remove once the shop app has landed.
    "purchase_attempt_total",
}

PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "topk", "bottomk", "rate", "irate", "increase",
    "histogram_quantile", "absent", "clamp_min", "clamp_max", "by", "without", "on", "ignoring",
    "group_left", "group_right", "and", "or", "unless", "bool", "offset",
}  # fmt: skip
SAMPLE_SUFFIXES = ("", "_total", "_bucket", "_count", "_sum", "_created")


def promql_metric_names(expression: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers left once strings, label matchers,
    ranges, grouping clauses, functions, keywords and numbers are taken out."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = re.findall(r"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*", text)
    return {name for name in names if name not in PROMQL_WORDS}


def alert_expressions() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def panel_expressions() -> list[str]:
    expressions = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            expressions += [target["expr"] for target in panel["targets"]]
    return expressions


def emitted_sample_names(client) -> set[str]:
    """Every sample name /metrics can carry, from its metric families (with or without samples)."""
    for app in apps.get_app_configs():  # each app keeps its metrics in <app>/metrics.py
        try:
            importlib.import_module(f"{app.name}.metrics")
        except ModuleNotFoundError as error:
            if error.name != f"{app.name}.metrics":
                raise
    client.get("/health")  # django-prometheus creates its metrics with its middleware
    text = client.get("/metrics").content.decode()
    families = {family.name for family in text_string_to_metric_families(text)}
    return {family + suffix for family in families for suffix in SAMPLE_SUFFIXES}


def test_the_name_extraction_finds_metrics_not_functions_or_labels():
    expression = (
        'histogram_quantile(0.95, sum by (le, view) (rate(a_seconds_bucket{view!="x"}[5m])))'
        " / on(job) max(b_total) > 0 and absent(c)"
    )

    assert promql_metric_names(expression) == {"a_seconds_bucket", "b_total", "c"}


@pytest.mark.django_db
def test_every_metric_in_alert_rules_and_dashboards_is_emitted_by_the_application(client):
    used = set()
    for expression in alert_expressions() + panel_expressions():
        used |= promql_metric_names(expression)
    assert len(used) > 10  # the extraction found the metrics

    missing = used - emitted_sample_names(client) - NOT_YET_EMITTED

    assert missing == set()


def test_the_allow_list_names_only_metrics_the_rules_or_panels_use():
    used = set()
    for expression in alert_expressions() + panel_expressions():
        used |= promql_metric_names(expression)

    assert used >= NOT_YET_EMITTED


def test_committed_alert_rules_are_the_template_rendered_with_the_defaults():
    result = subprocess.run(
        [sys.executable, str(MONITORING / "render_alerts.py"), "--check", str(ALERTS)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert (result.returncode, result.stdout) == (0, "")


def test_thresholds_come_from_the_environment():
    render = runpy.run_path(str(MONITORING / "render_alerts.py"))["render"]

    text = render({"ALERT_PENDING_PURCHASE_SPIKE": "7", "ALERT_HTTP_P95_SECONDS": "1.5"})

    assert 'sum(increase(purchase_attempt_total{result="pending"}[15m])) > 7\n' in text
    assert "> 1.5\n" in text
    with pytest.raises(ValueError, match="ALERT_CELERY_QUEUE_BACKLOG='lots' is not a number"):
        render({"ALERT_CELERY_QUEUE_BACKLOG": "lots"})


def test_every_alert_has_a_severity_and_a_summary():
    rules = yaml.safe_load(ALERTS.read_text())

    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert {rule["alert"] for rule in alerts} >= {
        "PurchaseFailureRateHigh",
        "PendingPurchaseSpike",
        "Http5xxRateHigh",
        "HttpLatencyP95High",
        "SocketDisconnectsHigh",
        "CeleryQueueBacklog",
        "LedgerCheckFailed",
    }
    for rule in alerts:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_grafana_provisioning_points_at_the_dashboards_and_the_prometheus_datasource():
    provisioning = MONITORING / "grafana" / "provisioning"
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    providers = yaml.safe_load((provisioning / "dashboards" / "casinoclub.yml").read_text())

    assert [(d["uid"], d["url"]) for d in datasources["datasources"]] == [
        ("prometheus", "http://prometheus:9090")
    ]
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    for path in DASHBOARDS.glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}
