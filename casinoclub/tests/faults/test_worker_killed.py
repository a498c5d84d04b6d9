"""A Celery worker SIGKILLed in the middle of settling a purchase: it settles exactly once later."""

from __future__ import annotations

import pytest
import redis
from django.core.management import call_command

from accounts.models import LedgerEntry, Wallet
from accounts.selectors import ledger_violations
from accounts.services import wallet_open
from accounts.tests.factories import UserFactory
from casinoclub.tests.processes import wait_until
from shop.models import Purchase
from shop.services import shop_buy
from shop.tests.factories import GoldPackFactory

from .conftest import backends_alive, blocked_by, raw_database_connection

pytestmark = [pytest.mark.fault, pytest.mark.timeout(120)]
SETTLE_TASK = "shop.tasks.purchases_settle_pending_task"
GATEWAY = {"PAYMENT_SIMULATOR_CHARGE": "pending", "PAYMENT_SIMULATOR_PENDING_OUTCOME": "succeed"}


@pytest.mark.parametrize("recovery", ["beat_sweep", "broker_redelivery"])
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_settlement_leaves_the_purchase_to_be_settled_exactly_once(
    recovery, settings, celery_worker, send_task, private_redis
):
    # Given a pending gold-pack purchase whose row the test holds locked
    settings.PAYMENT_SIMULATOR = {"charge": "pending", "pending_outcome": "pending"}
    user = UserFactory()
    wallet_open(user)
    purchase = shop_buy(user, GoldPackFactory(gold_amount=5000).code)
    assert purchase.status == "pending"
    lock_holder = raw_database_connection()
    observer = raw_database_connection()
    observer.autocommit = True
    lock_holder.execute("SELECT id FROM shop_purchase WHERE id = %s FOR UPDATE", [purchase.pk])
    lock_holder_pid = lock_holder.info.backend_pid

    # When the settlement job blocks inside its transaction and the worker is SIGKILLed
    worker = celery_worker(**GATEWAY)
    send_task(SETTLE_TASK)
    blocked = wait_until(lambda: blocked_by(observer, lock_holder_pid), "the settlement to block")
    worker.kill()
    lock_holder.rollback()
    wait_until(lambda: not backends_alive(observer, blocked), "the dead worker's backend to end")

    # Then nothing was credited by the dead worker
    purchase.refresh_from_db()
    assert purchase.status == "pending"
    assert not LedgerEntry.objects.filter(reference=f"purchase:{purchase.receipt}").exists()
    broker = redis.Redis.from_url(private_redis.url)
    assert broker.hlen("unacked") == 1  # acks_late: the message was never acknowledged

    # And a new worker settles it once: through the next beat run, or through the broker handing
    # the unacknowledged message out again once its visibility timeout passed
    if recovery == "beat_sweep":
        celery_worker(**GATEWAY)
        send_task(SETTLE_TASK)
    else:
        celery_worker(**GATEWAY, CELERY_VISIBILITY_TIMEOUT_SECONDS="0")
    wait_until(
        lambda: Purchase.objects.get(pk=purchase.pk).status == "success",
        "the purchase to settle",
        timeout=30,
    )
    entries = LedgerEntry.objects.filter(reference=f"purchase:{purchase.receipt}")
    assert list(entries.values_list("delta", flat=True)) == [5000]
    assert Wallet.objects.get(pk=user.pk).balance == 5000
    assert ledger_violations() == []
    call_command("check_ledger")  # exits non-zero on a violation
    if recovery == "beat_sweep":
        # the killed run's message waits out its visibility timeout (an hour), harmless: a later
        # delivery finds nothing pending
        wait_until(lambda: broker.hlen("unacked") == 1, "the new run to be acked")
    else:
        wait_until(lambda: broker.hlen("unacked") == 0, "the redelivered message to be acked")
    lock_holder.close()
    observer.close()
