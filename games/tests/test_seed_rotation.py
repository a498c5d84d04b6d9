"""A server seed stays secret while it can still decide a round (docs/fairness.md, section 3).

The exploit: bet on crash without an auto cash-out, rotate the seed pair, compute the open round's
crash point from the revealed seed, the round's client seed and nonce, and cash out just before it.
"""

import html
import importlib.util
import json
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from rest_framework.throttling import ScopedRateThrottle

from accounts.models import LedgerEntry
from accounts.selectors import ledger_violations
from games import engine, services
from games.models import FairSeed, GameRound
from games.tests.factories import funded_player
from games.tests.test_api import balance, client_for, post

TOOL = Path(settings.BASE_DIR) / "tools" / "verify_round.py"
ROTATE = "/api/games/fairness/rotate"


def verify_tool() -> ModuleType:
    """tools/verify_round.py as a module: the standalone tool's own arithmetic, in process."""
    spec = importlib.util.spec_from_file_location("verify_round", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tool_outcome(round_: GameRound, server_seed_hex: str, client_seed: str) -> dict:
    """What the standalone tool computes for a crash round from the revealed inputs."""
    tool = verify_tool()
    stream = tool.Stream(bytes.fromhex(server_seed_hex), client_seed, round_.nonce)
    outcome: dict = tool.crash(round_.config.engine, stream, round_.outcome.get("cashout_x100"))
    return outcome


def assert_rounds_verify(seed: FairSeed, server_seed_hex: str, client_seed: str) -> int:
    """Every round drawn from ``seed`` is settled and the tool reproduces it; returns the count."""
    rounds = list(GameRound.objects.filter(fair_seed=seed).select_related("config"))
    for round_ in rounds:
        assert round_.game == "crash"
        assert round_.state == "settled"
        outcome = tool_outcome(round_, server_seed_hex, client_seed)
        assert outcome["crash_x100"] == round_.outcome["crash_x100"]
        assert outcome.get("multiplier_x100", 0) == round_.multiplier_x100
    return len(rounds)


def open_crash_round(client, minimum_x100: int = 150) -> GameRound:
    """Bet on crash without an auto cash-out until the secret crash point is high enough.

    Runs under a stopped clock; a round that is too low is let bust (the clock moves past it).
    """
    for _ in range(20):
        response = post(client, "/api/games/crash/bet", {"bet": 100})
        assert response.status_code == 200, response.json()
        round_ = GameRound.objects.select_related("config").get(pk=response.json()["round"]["id"])
        if round_.outcome["crash_x100"] >= minimum_x100:
            return round_
        GameRound.objects.filter(pk=round_.pk).update(
            created_at=round_.created_at - timedelta(days=1)
        )
    raise AssertionError("no high crash point in 20 rounds")


def seed_with_a_high_first_crash_point(player) -> None:
    """Give the player a seed pair whose first crash round goes past 1.50x (no bust to retry)."""
    crash_config = engine.DEFAULT_CONFIGS["crash"]
    for index in range(256):
        server_seed = bytes([index]) * 32
        if engine.crash_point_x100(crash_config, engine.FairRng(server_seed, "pages", 0)) >= 150:
            FairSeed.objects.create(
                user=player,
                server_seed=server_seed,
                server_seed_hash=engine.server_seed_hash(server_seed),
                client_seed="pages",
            )
            return
    raise AssertionError("no seed with a high first crash point")


def seed_row(player) -> FairSeed:
    return FairSeed.objects.get(user=player, is_active=True)


@pytest.mark.django_db
def test_rotation_refuses_to_reveal_the_seed_of_an_open_crash_round_then_reveals_it_after():
    # given a crash bet without an auto cash-out, still running
    player = funded_player(100_000)
    client = client_for(player)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        round_ = open_crash_round(client)
        seed = seed_row(player)
        secret = bytes(seed.server_seed).hex()
        seeds_before = FairSeed.objects.filter(user=player).count()
        ledger_before = LedgerEntry.objects.filter(wallet_id=player.pk).count()

        # when the player rotates the seed pair to learn the crash point
        refused = client.post(ROTATE, {"client_seed": "next"}, format="json")

        # then it is refused and nothing of the seed leaves the server
        assert refused.status_code == 409
        assert refused.json() == {
            "error": {
                "code": "round_open",
                "message": "Finish your open round before rotating your seed pair.",
                "details": {"round_id": round_.pk},
            }
        }
        assert secret not in refused.content.decode()
        assert "server_seed" not in client.get("/api/games/fairness").json()
        assert seed_row(player).pk == seed.pk
        assert seed_row(player).revealed_at is None
        assert FairSeed.objects.filter(user=player).count() == seeds_before
        assert LedgerEntry.objects.filter(wallet_id=player.pk).count() == ledger_before
        assert GameRound.objects.get(pk=round_.pk).state == "open"
        verify = client.get(f"/api/games/rounds/{round_.pk}/verify").json()
        assert verify["revealed"] is False
        assert "server_seed" not in verify

        # when the player cashes out (before the bust) and rotates again
        crash_config = engine.CrashConfig.from_dict(round_.config.engine)
        clock.move_to(
            round_.created_at
            + timedelta(milliseconds=engine.elapsed_ms_for_x100(crash_config, 120))
        )
        cashed = post(client, "/api/games/crash/cashout", {"round_id": round_.pk})
        assert cashed.status_code == 200
        rotated = client.post(ROTATE, {"client_seed": "next"}, format="json")

    # then the seed is revealed and every round drawn from it verifies with the tool's logic
    assert rotated.status_code == 200
    previous = rotated.json()["previous"]
    assert previous["server_seed"] == secret
    assert previous["server_seed_hash"] == seed.server_seed_hash
    assert rotated.json()["current"]["client_seed"] == "next"
    revealed = FairSeed.objects.get(pk=seed.pk)
    assert revealed.is_active is False
    assert assert_rounds_verify(revealed, previous["server_seed"], previous["client_seed"]) >= 1
    assert GameRound.objects.get(pk=round_.pk).payout == 100 * 120 // 100
    verify = client.get(f"/api/games/rounds/{round_.pk}/verify").json()
    assert verify["verified"] is True
    assert ledger_violations() == []


@pytest.mark.django_db
def test_rotation_settles_a_busted_crash_round_first_and_reveals_its_seed():
    # given a crash round whose bust moment has passed, not settled yet (its task was lost)
    player = funded_player(100_000)
    client = client_for(player)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        round_ = open_crash_round(client, minimum_x100=101)
        crash_config = engine.CrashConfig.from_dict(round_.config.engine)
        bust_ms = engine.elapsed_ms_for_x100(crash_config, round_.outcome["crash_x100"])
        clock.move_to(round_.created_at + timedelta(milliseconds=bust_ms - 1))
        still_running = client.post(ROTATE, {}, format="json")
        clock.move_to(round_.created_at + timedelta(milliseconds=bust_ms))
        gold_before = balance(player)

        # when the player rotates
        rotated = client.post(ROTATE, {}, format="json")

    # then the round is settled as a bust (it paid nothing) and the seed is revealed
    assert still_running.status_code == 409
    assert still_running.json()["error"]["details"] == {"round_id": round_.pk}
    assert rotated.status_code == 200
    settled = GameRound.objects.get(pk=round_.pk)
    assert (settled.state, settled.payout) == ("settled", 0)
    assert balance(player) == gold_before
    previous = rotated.json()["previous"]
    seed = FairSeed.objects.get(server_seed_hash=previous["server_seed_hash"])
    assert settled.fair_seed_id == seed.pk
    assert settled.settled_at is not None
    assert seed.revealed_at is not None
    assert settled.settled_at <= seed.revealed_at
    assert assert_rounds_verify(seed, previous["server_seed"], previous["client_seed"]) >= 1
    assert ledger_violations() == []


@pytest.mark.django_db
def test_another_players_open_round_does_not_block_rotation():
    # given a crash round open on the active seed, and another player's open round
    player, other = funded_player(100_000), funded_player(100_000)
    with time_machine.travel(timezone.now(), tick=False):
        open_crash_round(client_for(other))

        # when the player without an open round rotates
        response = client_for(player).post(ROTATE, {}, format="json")

    # then another player's round does not block it
    assert response.status_code == 200
    assert "server_seed" in response.json()["previous"]


@pytest.mark.django_db
def test_seed_rotation_is_rate_limited(monkeypatch):
    # given a rate of two rotations a minute
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "fairness_rotate", "2/min")
    player = funded_player(100)
    client = client_for(player)

    # when the player rotates three times
    responses = [client.post(ROTATE, {}, format="json") for _ in range(3)]

    # then the third is refused and reveals nothing
    assert [response.status_code for response in responses] == [200, 200, 429]
    assert responses[2].json()["error"]["code"] == "rate_limited"
    assert "server_seed" not in responses[2].content.decode()
    assert FairSeed.objects.filter(user=player).count() == 3
    assert FairSeed.objects.filter(user=player, revealed_at__isnull=False).count() == 2


# ---------------------------------------------------------------- admin


@pytest.mark.django_db
def test_admin_never_shows_an_open_rounds_crash_point(admin_client):
    # given an open crash round
    player = funded_player(100_000)
    client = client_for(player)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        round_ = open_crash_round(client)
        crash_x100 = round_.outcome["crash_x100"]

        # when staff open the round's page and the round list
        change = admin_client.get(f"/admin/games/gameround/{round_.pk}/change/")
        listing = admin_client.get("/admin/games/gameround/")
        by_state = admin_client.get("/admin/games/gameround/?state__exact=open")

        # then neither shows the crash point
        assert (change.status_code, listing.status_code, by_state.status_code) == (200, 200, 200)
        for page in (change, listing, by_state):
            assert "crash_x100" not in html.unescape(page.content.decode())
        assert "hidden until the round ends" in change.content.decode()

        # and once the round is over, its page shows it
        clock.move_to(round_.created_at + timedelta(days=1))
        assert services.crash_round_settle(round_.pk) is True
    settled = admin_client.get(f"/admin/games/gameround/{round_.pk}/change/")
    assert json.dumps({"cashout_x100": None, "crash_x100": crash_x100}) in html.unescape(
        settled.content.decode()
    )


@pytest.mark.django_db
def test_admin_refuses_to_filter_rounds_or_seeds_on_secret_fields(admin_client):
    # given an open crash round
    with time_machine.travel(timezone.now(), tick=False):
        round_ = open_crash_round(client_for(funded_player(100_000)))
    crash_x100 = round_.outcome["crash_x100"]

    # when staff filter the lists on the crash point or on the server seed
    narrowed = admin_client.get(
        f"/admin/games/gameround/?state=open&outcome__crash_x100__gte={crash_x100}"
    )
    seeds = admin_client.get("/admin/games/fairseed/?server_seed__gte=00")

    # then the filters are refused: counting the rows listed would narrow the secret down
    assert (narrowed.status_code, seeds.status_code) == (400, 400)


@pytest.mark.django_db
def test_history_dashboard_verify_and_pages_hide_an_open_rounds_crash_point(client):
    # given an open crash round of a player logged in to the pages and the API
    player = funded_player(100_000)
    api = client_for(player)
    client.force_login(player)
    seed_with_a_high_first_crash_point(player)
    with time_machine.travel(timezone.now(), tick=False):
        round_ = open_crash_round(api)
        assert GameRound.objects.filter(user=player).count() == 1

        # when the player reads every place that shows rounds
        texts = [
            api.get("/api/games/history").content.decode(),
            api.get("/api/games/history?game=crash").content.decode(),
            api.get("/api/dashboard").content.decode(),
            api.get(f"/api/games/rounds/{round_.pk}/verify").content.decode(),
            client.get("/play/crash/").content.decode(),
            client.get("/").content.decode(),
        ]

    # then none shows the crash point
    assert all(str(round_.pk) in text for text in texts[:2])
    for text in texts:
        assert "crash_x100" not in html.unescape(text)
