"""PostgreSQL backends terminated in the middle of a burst of spins and buys: clean 503s, no
partial write, and the same web process serves the next requests without a restart."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
import requests
from django.core.management import call_command

from accounts.models import LedgerEntry, LedgerReason
from accounts.selectors import ledger_violations
from accounts.tokens import token_pair_for_user
from casinoclub.models import IdempotencyRecord
from casinoclub.tests.processes import child_database_url, wait_until
from games.models import GameRound
from games.tests.factories import funded_player
from shop.models import Purchase
from shop.tests.factories import GoldPackFactory

from .conftest import raw_database_connection

pytestmark = [pytest.mark.fault, pytest.mark.timeout(120)]
APPLICATION_NAME = "casinoclub-fault-web"
PLAYERS = 4


def _send(base_url: str, request: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{base_url}{request['path']}",
        json=request["body"],
        headers={"Authorization": f"Bearer {request['token']}", "Idempotency-Key": request["key"]},
        timeout=30,
    )


def _waiting_on_locks(observer: psycopg.Connection[Any]) -> int:
    row = observer.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        " AND wait_event_type = 'Lock'",
        [APPLICATION_NAME],
    ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.django_db(transaction=True)
def test_terminated_backends_fail_requests_cleanly_and_the_web_process_recovers(web_server):
    # Given four players, a burst of spins and buys, and their wallets locked by the test so the
    # burst's requests are caught inside their transactions
    players = [funded_player(gold=10_000) for _ in range(PLAYERS)]
    pack = GoldPackFactory(gold_amount=5000)
    web = web_server(DATABASE_URL=f"{child_database_url()}?application_name={APPLICATION_NAME}")
    burst = []
    for player in players:
        token = token_pair_for_user(player)["access"]
        for path, body in [
            ("/api/games/slot/spin", {"bet": 100}),
            ("/api/shop/buy", {"product_code": pack.code}),
            ("/api/games/slot/spin", {"bet": 50}),
        ]:
            burst.append({"path": path, "body": body, "token": token, "key": uuid.uuid4().hex})
    locker, observer = raw_database_connection(), raw_database_connection()
    observer.autocommit = True
    locker.execute(
        "SELECT user_id FROM accounts_wallet WHERE user_id = ANY(%s) ORDER BY user_id FOR UPDATE",
        [[player.pk for player in players]],
    )

    # When the backends serving the blocked requests are terminated, then the lock is released
    with ThreadPoolExecutor(max_workers=len(burst)) as pool:
        futures = [pool.submit(_send, web.base_url, request) for request in burst]
        wait_until(lambda: _waiting_on_locks(observer) >= PLAYERS, "requests to block")
        terminated = observer.execute(
            "WITH blocked AS MATERIALIZED (SELECT pid FROM pg_stat_activity"
            " WHERE application_name = %s AND wait_event_type = 'Lock')"
            " SELECT pid FROM blocked WHERE pg_terminate_backend(pid)",
            [APPLICATION_NAME],
        ).fetchall()
        locker.rollback()
        responses = [future.result() for future in futures]

    # Then every request either succeeded or was a clean 503, one per terminated backend
    statuses = [response.status_code for response in responses]
    failed = [i for i, status in enumerate(statuses) if status == 503]
    assert len(terminated) >= PLAYERS
    assert set(statuses) <= {200, 503}
    assert len(failed) == len(terminated)
    assert {responses[i].json()["error"]["code"] for i in failed} == {"service_unavailable"}
    assert {responses[i].headers["Retry-After"] for i in failed} == {"1"}

    # And retrying the failed ones with the same key performs each exactly once: nothing of them
    # had been written
    retried = [_send(web.base_url, burst[i]) for i in failed]
    assert [response.status_code for response in retried] == [200] * len(failed)
    assert [response.headers.get("Idempotent-Replayed") for response in retried] == [None] * len(
        failed
    )

    # And the same web process keeps serving (no restart): one more spin per player
    after = [
        _send(web.base_url, {**burst[0], "token": token_pair_for_user(p)["access"], "key": k})
        for p, k in ((player, uuid.uuid4().hex) for player in players)
    ]
    assert [response.status_code for response in after] == [200] * PLAYERS
    assert web.is_running

    # And the database holds exactly one effect per request, each complete
    spins, buys = 2 * PLAYERS + PLAYERS, PLAYERS
    rounds = GameRound.objects.filter(user__in=players)
    assert rounds.count() == spins
    assert Purchase.objects.filter(user__in=players, status="success").count() == buys
    assert Purchase.objects.filter(user__in=players).exclude(status="success").count() == 0
    assert IdempotencyRecord.objects.filter(user__in=players).count() == spins + buys
    entries = LedgerEntry.objects.filter(wallet_id__in=[p.pk for p in players])
    assert entries.filter(reason=LedgerReason.GAME_BET).count() == spins
    assert sorted(
        entries.filter(reason=LedgerReason.GAME_WIN).values_list("reference", flat=True)
    ) == sorted(f"round:{r.pk}" for r in rounds.filter(payout__gt=0))
    assert sorted(
        entries.filter(reason=LedgerReason.PURCHASE_CREDIT).values_list("reference", flat=True)
    ) == sorted(
        f"purchase:{receipt}"
        for receipt in Purchase.objects.filter(user__in=players).values_list("receipt", flat=True)
    )
    assert ledger_violations() == []
    call_command("check_ledger")
    locker.close()
    observer.close()
