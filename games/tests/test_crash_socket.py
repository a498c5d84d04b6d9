"""The shared crash round over the socket: phases, bets and cash-outs reach every subscriber."""

import pytest

from accounts.tests.factories import UserFactory
from casinoclub.realtime.tests.helpers import (
    TIMEOUT,
    access_token,
    async_test,
    broadcasts_in,
    db,
    open_synced_socket,
    receive_broadcasts,
)
from games import services
from games.models import CrashRound
from games.tests.crash_helpers import chain_where_first_round
from games.tests.factories import funded_player

pytestmark = pytest.mark.django_db(transaction=True)


async def subscribed(token: str):  # type: ignore[no-untyped-def]
    socket, _ = await open_synced_socket(token)
    await socket.send_json_to({"type": "subscribe", "group": "crash"})
    state = await socket.receive_json_from(timeout=TIMEOUT)
    assert (state["type"], state["group"]) == ("group_state", "crash")
    return socket, state["data"]


def _round() -> CrashRound:
    return CrashRound.objects.select_related("config").get()


@async_test
async def test_subscribers_see_every_phase_bet_and_cash_out_and_a_late_one_gets_the_round():
    # given a watcher subscribed before the round, and a socket that never subscribed
    await db(chain_where_first_round)(lambda crash: crash >= 300)
    watcher_user, bettor = await db(UserFactory)(), await db(funded_player)(1000)
    watcher, state = await subscribed(await db(access_token)(watcher_user))
    quiet, _ = await open_synced_socket(await db(access_token)(watcher_user))
    assert state["round"] is None
    assert state["busts"] == []

    # when a round opens, a player bets, it runs, they cash out and it busts
    await db(services.crash_loop_step)()
    round_ = await db(_round)()
    bet = await db(services.crash_bet)(bettor, 100, None)
    await db(services.crash_loop_step)(now=round_.betting_ends_at)
    round_ = await db(_round)()
    late, late_state = await subscribed(await db(access_token)(watcher_user))
    await db(services.crash_cashout)(bettor, bet.pk)
    await db(services.crash_loop_step)(now=round_.bust_at)
    round_ = await db(_round)()

    # then the watcher got each, in order, with what the page draws from
    messages = await receive_broadcasts(watcher, 5)
    assert [m["type"] for m in messages] == [
        "crash_betting", "crash_bet", "crash_running", "crash_cashout", "crash_busted",
    ]  # fmt: skip
    betting, placed, running, cashed, busted = (m["data"] for m in messages)
    assert betting["round"]["betting_ends_at"] == round_.betting_ends_at.isoformat()
    assert betting["round"]["hash"] is None
    assert placed == {
        "round_id": round_.pk, "nickname": bettor.nickname, "amount": 100, "auto_cashout": None,
    }  # fmt: skip
    assert running["round"]["started_at"] == round_.started_at.isoformat()
    assert running["round"]["crash_point"] is None
    assert running["round"]["growth_per_ms"] == 0.00006
    cashed_bet = await db(lambda: type(bet).objects.get(pk=bet.pk))()
    assert cashed == {
        "round_id": round_.pk,
        "nickname": bettor.nickname,
        "multiplier": cashed_bet.multiplier_x100 / 100,
        "win": cashed_bet.payout,
    }
    assert busted["round"]["crash_point"] == round_.crash_x100 / 100
    assert busted["round"]["hash"] == round_.hash
    # and the late subscriber started from the running round and its bets, then went on live
    assert late_state["round"]["phase"] == "running"
    assert late_state["round"]["started_at"] == round_.started_at.isoformat()
    assert [b["nickname"] for b in late_state["bets"]] == [bettor.nickname]
    # (a broadcast on its way when it joined may come after the state: the page ignores what its
    # state already has, decision 0248)
    late_types: list[str] = []
    while not late_types or late_types[-1] != "crash_busted":
        frame = await late.receive_json_from(timeout=TIMEOUT)
        late_types += [m["type"] for m in broadcasts_in(frame)]
    assert late_types[-2:] == ["crash_cashout", "crash_busted"]
    assert set(late_types[:-2]) <= {"crash_betting", "crash_bet", "crash_running"}
    # and a socket that did not subscribe got none of it
    assert await quiet.receive_nothing(timeout=0.3)
    for socket in (watcher, late, quiet):
        await socket.disconnect()


@async_test
async def test_an_unknown_group_is_ignored_and_unsubscribe_stops_the_messages():
    await db(chain_where_first_round)(lambda crash: crash >= 101)
    token = await db(access_token)(await db(UserFactory)())
    socket, _ = await open_synced_socket(token)

    await socket.send_json_to({"type": "subscribe", "group": "user.1"})
    assert await socket.receive_nothing(timeout=0.3)
    await socket.send_json_to({"type": "subscribe", "group": "crash"})
    assert (await socket.receive_json_from(timeout=TIMEOUT))["type"] == "group_state"
    await socket.send_json_to({"type": "unsubscribe", "group": "crash"})
    await socket.receive_nothing(timeout=0.3)
    await db(services.crash_loop_step)()

    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()
