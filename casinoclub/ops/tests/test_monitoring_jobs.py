"""Cluster-wide gauges set by beat jobs (ledger check, Celery backlog) and the /metrics view."""

import pytest
from django.conf import settings
from redis import Redis

from accounts.metrics import ledger_violations
from accounts.models import Wallet
from accounts.tasks import ledger_check_task
from accounts.tests.factories import UserFactory
from casinoclub.ops.metrics import celery_queue_length
from casinoclub.ops.tasks import celery_queue_length_sample_task
from casinoclub.tests.test_metrics import sample_value, scrape
from games.tests.factories import funded_player


@pytest.mark.django_db
def test_ledger_check_task_publishes_zero_for_a_healthy_ledger(api_client):
    funded_player(500)

    assert ledger_check_task.delay().get() == 0

    assert "ledger_violations 0.0" in scrape(api_client)


@pytest.mark.django_db
def test_ledger_check_task_counts_wallets_that_violate_the_ledger(api_client):
    funded_player(500)
    Wallet.objects.create(user=UserFactory(), balance=70)  # gold without a ledger entry

    assert ledger_check_task.delay().get() == 1

    assert sample_value(scrape(api_client), "ledger_violations") == 1


@pytest.mark.django_db
def test_a_gauge_never_set_or_expired_is_absent_from_the_scrape(api_client):
    text = scrape(api_client)

    assert "# TYPE ledger_violations gauge" in text
    assert "\nledger_violations " not in text
    assert ledger_violations.get() is None


@pytest.mark.django_db
def test_celery_queue_length_task_reads_the_default_queue_from_the_broker(api_client):
    broker = Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(settings.CELERY_MONITORED_QUEUE)
    broker.rpush(settings.CELERY_MONITORED_QUEUE, "a", "b", "c")
    try:
        assert celery_queue_length_sample_task.delay().get() == 3
    finally:
        broker.delete(settings.CELERY_MONITORED_QUEUE)

    assert sample_value(scrape(api_client), "celery_queue_length") == 3
    assert celery_queue_length.get() == 3.0


@pytest.mark.django_db
def test_under_gunicorn_multiprocess_mode_the_scrape_still_has_the_stored_gauges(
    api_client, monkeypatch, tmp_path
):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    celery_queue_length.set(4)

    text = scrape(api_client)

    assert sample_value(text, "celery_queue_length") == 4
    # Only what the worker processes wrote to the directory (nothing here) plus stored gauges.
    assert "auth_login_locked_total" not in text
