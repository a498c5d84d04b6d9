"""The instant round's money statement (docs/decisions/0141): everything or nothing, under real
concurrency, and an idempotency key it cannot use refuses the round instead of skipping the bet."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from accounts.models import LedgerEntry, LedgerReason, Wallet
from accounts.selectors import ledger_violations
from accounts.services import wallet_credit, wallet_debit
from accounts.tests.test_races import run_together
from accounts.tokens import token_pair_for_user
from casinoclub.models import IdempotencyRecord
from casinoclub.realtime.models import RealtimeMessage
from games import services
from games.models import DailyPlayCount, FairSeed, GameRound
from games.tests.factories import funded_player


def _spin(client, key: str, bet: int = 10):
    return client.post(
        "/api/games/slot/spin", {"bet": bet}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )


def _snapshot(user) -> tuple:
    return (
        Wallet.objects.get(pk=user.pk).balance,
        list(LedgerEntry.objects.filter(wallet_id=user.pk).values_list("id", flat=True)),
        GameRound.objects.filter(user=user).count(),
        list(FairSeed.objects.filter(user=user).values_list("nonce", flat=True)),
        list(DailyPlayCount.objects.filter(user=user).values_list("count", flat=True)),
        RealtimeMessage.objects.filter(user=user).count(),
    )


@pytest.mark.django_db
def test_a_bet_key_used_before_refuses_the_spin_and_writes_nothing(client_for):
    # given a player whose next spin's bet key is taken already by another entry
    player = funded_player(10_000)
    client = client_for(player)
    assert _spin(client, "first-spin-0001").status_code == 200
    seed = FairSeed.objects.get(user=player, is_active=True)
    wallet_credit(
        player.pk,
        5,
        reason=LedgerReason.STAFF_GRANT,
        reference="collision",
        idempotency_key=f"bet:{seed.pk}:{seed.nonce}",
    )
    before = _snapshot(player)

    # when the player spins
    response = _spin(client, "second-spin-0001")

    # then the spin is refused (a 409 the client may retry), and nothing of it was written: no
    # bet skipped, no round, nonce and daily count as they were
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_in_progress"
    assert _snapshot(player) == before
    assert not IdempotencyRecord.objects.filter(key="second-spin-0001").exists()


@pytest.mark.django_db
def test_a_winning_spin_writes_both_entries_and_one_balance(client_for):
    # given a player
    player = funded_player(10_000)
    client = client_for(player)

    # when the player spins until a win
    for attempt in range(40):
        response = _spin(client, f"until-win-{attempt:04d}")
        assert response.status_code == 200
        if response.json()["round"]["payout"] > 0:
            break
    else:
        pytest.skip("no win in 40 spins")

    # then the bet and the payout are two entries of that round, chained, and the wallet agrees
    round_ = response.json()["round"]
    bet_entry, win_entry = LedgerEntry.objects.filter(wallet_id=player.pk).order_by("-id")[:2][::-1]
    assert (bet_entry.delta, bet_entry.reason) == (-10, "game_bet")
    assert (win_entry.delta, win_entry.reason, win_entry.reference) == (
        round_["payout"],
        "game_win",
        f"round:{round_['id']}",
    )
    assert win_entry.balance_after == bet_entry.balance_after + round_["payout"]
    assert response.json()["balance"] == win_entry.balance_after
    assert Wallet.objects.get(pk=player.pk).balance == win_entry.balance_after
    stored = GameRound.objects.get(pk=round_["id"])
    assert (stored.state, stored.payout, stored.nonce) == (
        "settled",
        round_["payout"],
        round_["nonce"],
    )
    assert ledger_violations() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_spins_and_credits_of_one_wallet_keep_every_balance_after_in_order():
    # given a player with little gold: spins and credits of the wallet race
    player = funded_player(200)
    token = token_pair_for_user(player)["access"]

    def act(index: int) -> int:
        if index % 3 == 0:
            wallet_credit(
                player.pk,
                7,
                reason=LedgerReason.STAFF_GRANT,
                reference="race",
                idempotency_key=f"race-credit-{index}",
            )
            return 0
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return _spin(client, f"race-spin-{index:04d}", bet=50).status_code

    # when they run together
    results = run_together(24, act)

    # then every spin either settled or was refused cleanly, and every entry's balance_after is
    # the running sum of the wallet's entries in the order they were written
    assert set(results) <= {0, 200, 409}
    entries = list(
        LedgerEntry.objects.filter(wallet_id=player.pk)
        .order_by("id")
        .values_list("delta", "balance_after")
    )
    running = 0
    for delta, balance_after in entries:
        running += delta
        assert balance_after == running >= 0
    assert Wallet.objects.get(pk=player.pk).balance == running
    assert GameRound.objects.filter(user=player).count() == results.count(200)
    assert ledger_violations() == []


@pytest.mark.django_db
def test_a_spin_above_the_balance_writes_no_round_event_count_or_message(client_for):
    # given a player who spun once and has less gold than the next bet
    from casinoclub.models import DomainEvent

    player = funded_player(1_000)
    client = client_for(player)
    assert _spin(client, "first-spin-0002", bet=10).status_code == 200  # the day's count exists
    left = Wallet.objects.get(pk=player.pk).balance
    wallet_debit(player.pk, left - 15, reason=LedgerReason.STAFF_REVOKE, reference="test",
                 idempotency_key="leave-15")  # fmt: skip
    before = _snapshot(player)
    events_before = DomainEvent.objects.filter(user_id=player.pk).count()

    # when the player bets more than is left (a bet inside the game's range)
    response = _spin(client, "too-much-0001", bet=16)

    # then the spin is refused and nothing of it was written
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_funds"
    assert _snapshot(player) == before
    assert DomainEvent.objects.filter(user_id=player.pk).count() == events_before


@pytest.mark.django_db(transaction=True)
def test_a_twin_record_committed_before_the_money_statement_refuses_the_spin(
    client_for, monkeypatch
):
    # given a player, and a twin request with the same key that commits its stored response
    # after this request looked for one and before this request's money statement (which stores
    # this request's response: a twin committing later would wait for it on the unique key)
    player = funded_player(10_000)
    client = client_for(player)
    assert _spin(client, "warm-spin-0001").status_code == 200
    before = _snapshot(player)
    real_begin = services._instant_round_begin

    def twin_commits(fingerprint_of: str):  # type: ignore[no-untyped-def]
        def write() -> None:
            IdempotencyRecord.objects.create(
                user=player, key="twin-spin-0001", fingerprint=fingerprint_of,
                status_code=200, body=b'{"twin": true}',
            )  # fmt: skip
            connection.close()

        thread = threading.Thread(target=write)
        thread.start()
        thread.join()

    def begin_then_twin(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = real_begin(*args, **kwargs)
        twin_commits("same-request")
        return result

    monkeypatch.setattr(services, "_instant_round_begin", begin_then_twin)

    # when this request's money statement runs
    response = _spin(client, "twin-spin-0001")

    # then it is refused as in progress, and nothing of it was written (the twin's record stays)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_in_progress"
    assert _snapshot(player) == before
    assert [bytes(record.body) for record in IdempotencyRecord.objects.filter(
        key="twin-spin-0001"
    )] == [b'{"twin": true}']  # fmt: skip


@pytest.mark.django_db
def test_a_replayed_spin_answers_the_bytes_the_spin_answered(client_for):
    # given a spin
    player = funded_player(10_000)
    client = client_for(player)
    first = _spin(client, "replay-bytes-0001")
    assert first.status_code == 200

    # when the client retries it
    again = _spin(client, "replay-bytes-0001")

    # then the stored response is replayed exactly, with the balance after the spin
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert again.json()["balance"] == Wallet.objects.get(pk=player.pk).balance
