"""tools/verify_round.py, which knows only docs/fairness.md, agrees with rounds played via the API."""

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from games import services
from games.models import CrashRound, GameRound
from games.tests.crash_helpers import chain_where_first_round
from games.tests.factories import funded_player
from games.tests.test_api import client_for, post

TOOL = Path(settings.BASE_DIR) / "tools" / "verify_round.py"


def run_tool(tmp_path, verify: dict, round_: GameRound) -> dict:
    config_file = tmp_path / f"config-{round_.pk}.json"
    config_file.write_text(json.dumps(verify["config"]))
    args = [
        sys.executable, str(TOOL), "--game", round_.game,
        "--server-seed", verify["server_seed"], "--server-seed-hash", verify["server_seed_hash"],
        "--client-seed", verify["client_seed"], "--nonce", str(verify["nonce"]),
        "--config", str(config_file),
    ]  # fmt: skip
    if round_.game == "rps":
        args += ["--choice", round_.params["choice"]]
    if round_.game == "gacha":
        args += ["--pulls", str(round_.params["count"])]
        args += ["--pity", str(round_.outcome["pulls"][0]["pity_before"])]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)["outcome"]


@pytest.mark.django_db
def test_the_standalone_tool_reproduces_every_game_played_through_the_api(tmp_path):
    player = funded_player(100_000)
    client = client_for(player)
    for _ in range(3):
        post(client, "/api/games/slot/spin", {"bet": 10})
    post(client, "/api/games/rps/play", {"bet": 10, "choice": "paper"})
    post(client, "/api/games/gacha/pull", {"count": 10})
    post(client, "/api/games/gacha/pull", {"count": 1})
    client.post("/api/games/fairness/rotate", {}, format="json")

    rounds = list(GameRound.objects.filter(user=player).order_by("id"))
    assert len(rounds) == 6
    for round_ in rounds:
        verify = client.get(f"/api/games/rounds/{round_.pk}/verify").json()
        assert verify["verified"] is True, verify
        # what a recomputation needs besides the seeds, and never an item's gold value
        assert (
            verify["params"]
            == {
                "slot": {},
                "rps": {"choice": "paper"},
                "gacha": {
                    "pulls": round_.params.get("count"),
                    "pity": round_.outcome.get("pulls", [{}])[0].get("pity_before"),
                },
            }[round_.game]
        )
        assert "item_values" not in verify["config"]
        outcome = run_tool(tmp_path, verify, round_)
        if round_.game == "slot":
            assert outcome["reels"] == round_.outcome["reels"]
            assert outcome["multiplier_x100"] == round_.multiplier_x100
        elif round_.game == "rps":
            assert (outcome["opponent"], outcome["result"]) == (
                round_.outcome["opponent"],
                round_.outcome["result"],
            )
            assert outcome["multiplier_x100"] == round_.multiplier_x100
        else:
            assert outcome["pulls"] == round_.outcome["pulls"]
            assert outcome["pity"] == round_.outcome["pity"]


def run_crash_round_tool(*extra: str) -> tuple[int, dict]:
    result = subprocess.run(
        [sys.executable, str(TOOL), "--game", "crash-round", *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode, json.loads(result.stdout)


@pytest.mark.django_db
def test_the_tool_verifies_finished_shared_crash_rounds_and_their_links_in_the_chain():
    # given two finished rounds of a chain, a bet in the second
    player = funded_player(100_000)
    client = client_for(player)
    chain = chain_where_first_round(lambda crash: crash >= 101)
    for hours in (1, 2):  # each round opens after the previous one's pause
        services.crash_loop_step(now=timezone.now() + timedelta(hours=hours))
        round_ = CrashRound.objects.order_by("-pk").first()
        bet = post(client, "/api/games/crash/bet", {"bet": 10}).json()["round"]["id"]
        services.crash_loop_step(now=round_.betting_ends_at)
        round_.refresh_from_db()
        services.crash_loop_step(now=round_.bust_at)
    first, second = CrashRound.objects.order_by("pk")

    # when anyone reads them and runs the tool on what the API shows
    details = [client.get(f"/api/games/crash/rounds/{r.pk}").json() for r in (first, second)]
    reports = [
        run_crash_round_tool(
            "--hash", detail["hash"], "--salt", detail["salt"],
            "--previous-hash", detail["previous_hash"],
            "--terminal-hash", detail["terminal_hash"], "--position", str(detail["position"]),
        )
        for detail in details
    ]  # fmt: skip

    # then each crash point, link and place in the chain checks out
    assert details[0]["previous_hash"] == chain.terminal_hash
    assert details[1]["previous_hash"] == details[0]["hash"]
    for (code, report), round_ in zip(reports, (first, second), strict=True):
        assert code == 0
        assert report["outcome"] == {"crash_x100": round_.crash_x100}
        assert (report["link_matches"], report["chain_matches"]) == (True, True)
    # and the bet's verify route says the same
    verify = client.get(f"/api/games/rounds/{bet}/verify").json()
    assert (verify["verified"], verify["crash_round_id"]) == (True, second.pk)

    # when a hash is forged (not the chain's link), the tool says so and exits 1
    code, report = run_crash_round_tool(
        "--hash", "ab" * 32, "--salt", details[1]["salt"],
        "--previous-hash", details[1]["previous_hash"],
    )  # fmt: skip
    assert (code, report["link_matches"]) == (1, False)
