"""Redis stopped mid-play: HTTP keeps working, and sockets catch up on everything once it is back."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests
from websockets.sync.client import ClientConnection, connect

from accounts.models import LedgerEntry, Wallet
from accounts.selectors import ledger_violations
from accounts.tests.factories import PASSWORD
from casinoclub.realtime.models import RealtimeCursor, RealtimeMessage
from games.tests.factories import funded_player
from shop.tests.factories import GoldPackFactory

pytestmark = [pytest.mark.fault, pytest.mark.timeout(120)]


def _login(http: requests.Session, base_url: str, site_id: str) -> str:
    response = http.post(
        f"{base_url}/api/auth/login", json={"site_id": site_id, "password": PASSWORD}, timeout=10
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access"])


def _post(
    http: requests.Session, base_url: str, path: str, token: str, body: dict[str, Any]
) -> requests.Response:
    return http.post(
        f"{base_url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
        timeout=10,
    )


def _open_socket(port: int, token: str, since: int | None = None) -> ClientConnection:
    query = f"token={token}" + ("" if since is None else f"&since={since}")
    return connect(f"ws://127.0.0.1:{port}/api/realtime/sync?{query}", open_timeout=10)


def _receive(socket: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(socket.recv(timeout=10))
    return message


def _last_seq(user_id: int) -> int:
    cursor = RealtimeCursor.objects.filter(user_id=user_id).first()
    return 0 if cursor is None else cursor.last_seq


@pytest.mark.django_db(transaction=True)
def test_login_spin_and_buy_work_while_redis_is_down_and_sockets_catch_up_after(
    web_server, private_redis, http
):
    # Given a player playing with an open socket
    user = funded_player(gold=10_000)
    pack = GoldPackFactory(gold_amount=5000)
    web = web_server()
    token = _login(http, web.base_url, user.site_id)
    with _open_socket(web.port, token) as socket:
        assert [_receive(socket)["type"] for _ in range(2)] == ["sync_connected", "initial_state"]
        spin = _post(http, web.base_url, "/api/games/slot/spin", token, {"bet": 100})
        assert spin.status_code == 200, spin.text
        seen = [_receive(socket)]
        while seen[-1]["seq"] < _last_seq(user.pk):
            seen.append(_receive(socket))
    last_seen = seen[-1]["seq"]
    last_entry_id = LedgerEntry.objects.filter(wallet_id=user.pk).latest("id").pk

    # When Redis dies, the player logs in again, spins and buys
    private_redis.kill()
    token = _login(http, web.base_url, user.site_id)
    for _ in range(3):
        balance_before = Wallet.objects.get(pk=user.pk).balance
        spin = _post(http, web.base_url, "/api/games/slot/spin", token, {"bet": 100})
        assert spin.status_code == 200, spin.text
        round_ = spin.json()["round"]
        assert round_["bet"] == 100
        assert spin.json()["balance"] == Wallet.objects.get(pk=user.pk).balance
        assert spin.json()["balance"] >= balance_before - 100 + round_["payout"]
    buy = _post(http, web.base_url, "/api/shop/buy", token, {"product_code": pack.code})
    assert buy.status_code == 200, buy.text
    receipt = buy.json()["purchase"]["receipt"]
    assert buy.json()["purchase"]["status"] == "success"
    assert buy.json()["balance"] == Wallet.objects.get(pk=user.pk).balance
    assert list(
        LedgerEntry.objects.filter(reference=f"purchase:{receipt}").values_list("delta", flat=True)
    ) == [5000]
    assert http.get(f"{web.base_url}/health", timeout=10).status_code == 503

    # Then, once Redis is back on the same port, a socket resuming from its last seq gets every
    # message it missed, in order, once: among them one profile_update per change of the wallet
    # (a round's bet and payout are one change: docs/decisions/0141), each with the balance after
    # the last entry it names
    private_redis.start()
    missed = list(
        RealtimeMessage.objects.filter(user_id=user.pk, seq__gt=last_seen)
        .order_by("seq")
        .values_list("seq", "type")
    )
    balances_after = dict(
        LedgerEntry.objects.filter(wallet_id=user.pk, id__gt=last_entry_id).values_list(
            "id", "balance_after"
        )
    )
    with _open_socket(web.port, token, since=last_seen) as socket:
        connected, initial = _receive(socket), _receive(socket)
        replayed = [_receive(socket) for _ in missed]
        # and live messages flow again through the restarted Redis
        spin = _post(http, web.base_url, "/api/games/slot/spin", token, {"bet": 100})
        assert spin.status_code == 200, spin.text
        live = _receive(socket)

    assert len(balances_after) >= 4  # 3 bets (and any wins), the purchase credit
    assert connected["data"] == {"last_seq": missed[-1][0], "since": last_seen}
    assert initial["data"]["profile"]["gold"] == buy.json()["balance"]
    assert [(m["seq"], m["type"]) for m in replayed] == missed
    assert [m["seq"] for m in replayed] == list(range(last_seen + 1, last_seen + 1 + len(missed)))
    gold_changes = [
        (m["data"]["ledger_entry_id"], m["data"]["gold"])
        for m in replayed
        if m["type"] == "profile_update" and "ledger_entry_id" in m["data"]
    ]
    assert len(gold_changes) == 4  # 3 spins, the purchase credit
    assert gold_changes == [(entry_id, balances_after[entry_id]) for entry_id, _ in gold_changes]
    named = [entry_id for entry_id, _ in gold_changes]
    assert named == sorted(named)
    assert gold_changes[-1] == (max(balances_after), buy.json()["balance"])
    assert live["seq"] == missed[-1][0] + 1
    assert Wallet.objects.get(pk=user.pk).balance == spin.json()["balance"]
    assert ledger_violations() == []
