"""Shared crash round set-ups: a chain whose first round busts where a test needs it."""

from __future__ import annotations

from collections.abc import Callable

from games import engine, services
from games.models import CrashChain

DEV_SALT = "0000000000000000000000000000000000000000000000000000000000000001"


def first_crash_x100(seed_hex: str, length: int, salt: str = DEV_SALT) -> int:
    hashes = list(engine.chain_hashes(seed_hex, length))
    return engine.chain_crash_point_x100(engine.DEFAULT_CRASH_CONFIG, hashes[length - 1], salt)


def chain_where_first_round(wanted: Callable[[int], bool], length: int = 5) -> CrashChain:
    """A chain (salt set) whose first round's crash point satisfies ``wanted``."""
    for number in range(1, 100_000):
        seed = f"{number:064x}"
        if wanted(first_crash_x100(seed, length)):
            chain = services.crash_chain_create(length, seed_hex=seed)
            return services.crash_chain_salt_set(chain.pk, DEV_SALT, "test salt")
    raise AssertionError("no such chain")


def running_round_with_bet(client, wanted: Callable[[int], bool] = lambda crash: crash >= 150):  # type: ignore[no-untyped-def]
    """A shared round now running with a bet of 100 by ``client``'s player: (round, bet id)."""
    from games.models import CrashRound

    chain_where_first_round(wanted)
    services.crash_loop_step()
    round_ = CrashRound.objects.get()
    response = client.post(
        "/api/games/crash/bet", {"bet": 100}, format="json", HTTP_IDEMPOTENCY_KEY="helper-bet-1"
    )
    assert response.status_code == 200, response.json()
    services.crash_loop_step(now=round_.betting_ends_at)
    round_.refresh_from_db()
    return round_, response.json()["round"]["id"]
