"""The web process SIGKILLed while a spin is in flight: after a restart, a retry with the same
Idempotency-Key makes exactly one effect, whether or not the first attempt had committed."""

from __future__ import annotations

import signal
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
import requests
from django.core.management import call_command

from accounts.models import LedgerEntry, LedgerReason, Wallet
from accounts.selectors import ledger_violations
from accounts.tokens import token_pair_for_user
from casinoclub.models import IdempotencyRecord
from casinoclub.tests.processes import child_database_url, wait_until
from games.models import GameRound
from games.tests.factories import funded_player

from .conftest import raw_database_connection

pytestmark = [pytest.mark.fault, pytest.mark.timeout(120)]
APPLICATION_NAME = "casinoclub-fault-web"


def _web_backends(observer: psycopg.Connection[Any], *, waiting_on_lock: bool = False) -> int:
    row = observer.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        " AND (NOT %s OR wait_event_type = 'Lock')",
        [APPLICATION_NAME, waiting_on_lock],
    ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.parametrize("killed", ["before_commit", "after_commit"])
@pytest.mark.django_db(transaction=True)
def test_a_retry_after_the_web_process_died_mid_spin_makes_exactly_one_round(
    killed, web_server, private_redis
):
    # Given a spin caught inside its transaction by the test holding the player's wallet row
    player = funded_player(gold=10_000)
    web = web_server(DATABASE_URL=f"{child_database_url()}?application_name={APPLICATION_NAME}")
    key = uuid.uuid4().hex
    headers = {
        "Authorization": f"Bearer {token_pair_for_user(player)['access']}",
        "Idempotency-Key": key,
    }
    spin_url = f"{web.base_url}/api/games/slot/spin"
    locker, observer = raw_database_connection(), raw_database_connection()
    observer.autocommit = True
    locker.execute("SELECT 1 FROM accounts_wallet WHERE user_id = %s FOR UPDATE", [player.pk])
    with ThreadPoolExecutor(max_workers=1) as pool:
        first: Future[requests.Response] = pool.submit(
            requests.post, spin_url, json={"bet": 100}, headers=headers, timeout=30
        )
        wait_until(lambda: _web_backends(observer, waiting_on_lock=True), "the spin to block")

        # When the web process is SIGKILLed before the commit, or after it (the live socket copy
        # of the round is stuck on a paused Redis) but before the response is written
        if killed == "before_commit":
            web.kill()
            locker.rollback()
        else:
            private_redis.signal(signal.SIGSTOP)
            locker.rollback()
            wait_until(
                lambda: IdempotencyRecord.objects.filter(user=player, key=key).exists(),
                "the spin to commit",
            )
            web.kill()
            private_redis.signal(signal.SIGCONT)
        with pytest.raises(requests.ConnectionError):
            first.result()
    wait_until(lambda: _web_backends(observer) == 0, "the dead process's backends to end")
    committed = GameRound.objects.filter(user=player).count()
    assert committed == (0 if killed == "before_commit" else 1)

    # Then after a restart the retry with the same key is answered once: performed now, or the
    # committed first response replayed
    web.start()
    retry = requests.post(spin_url, json={"bet": 100}, headers=headers, timeout=30)
    again = requests.post(spin_url, json={"bet": 100}, headers=headers, timeout=30)

    assert retry.status_code == 200, retry.text
    replayed = "true" if killed == "after_commit" else None
    assert retry.headers.get("Idempotent-Replayed") == replayed
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (200, "true")
    assert again.content == retry.content
    round_ = GameRound.objects.get(user=player)
    assert retry.json()["round"]["id"] == round_.pk
    entries = LedgerEntry.objects.filter(wallet_id=player.pk)
    assert entries.filter(reason=LedgerReason.GAME_BET).count() == 1
    assert entries.filter(reason=LedgerReason.GAME_WIN).count() == (1 if round_.payout else 0)
    assert IdempotencyRecord.objects.filter(user=player).count() == 1
    assert Wallet.objects.get(pk=player.pk).balance == retry.json()["balance"]
    assert ledger_violations() == []
    call_command("check_ledger")
    locker.close()
    observer.close()
