"""tools/verify_round.py, which knows only docs/fairness.md, agrees with rounds played via the API."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from games.models import GameRound
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
    crash = post(client, "/api/games/crash/bet", {"bet": 10}).json()["round"]["id"]
    post(client, "/api/games/crash/cashout", {"round_id": crash})
    client.post("/api/games/fairness/rotate", {}, format="json")

    rounds = list(GameRound.objects.filter(user=player).order_by("id"))
    assert len(rounds) == 7
    for round_ in rounds:
        verify = client.get(f"/api/games/rounds/{round_.pk}/verify").json()
        assert verify["verified"] is True, verify
        # what a recomputation needs besides the seeds, and never an item's gold value
        assert (
            verify["params"]
            == {
                "slot": {},
                "crash": {},
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
        elif round_.game == "crash":
            assert outcome["crash_x100"] == round_.outcome["crash_x100"]
        else:
            assert outcome["pulls"] == round_.outcome["pulls"]
            assert outcome["pity"] == round_.outcome["pity"]
