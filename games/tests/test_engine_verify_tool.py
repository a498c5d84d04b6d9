"""tools/verify_round.py re-derives rounds from docs/fairness.md alone: it must agree with the
engines. (The API-level test against played rounds lives with the API tests.)"""

import ast
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from games.engine import (
    DEFAULT_CONFIGS,
    CrashConfig,
    FairRng,
    crash_point_x100,
    crash_settle,
    gacha_pull,
    rps_play,
    server_seed_hash,
    slot_spin,
)
from games.engine.slot import SlotConfig

TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_round.py"
SEED = bytes.fromhex("9f" * 16 + "01" * 16)
CLIENT = "player-chosen:seed"  # a colon in the client seed is just more message bytes
COUNT = 300


def run_tool(*args):
    completed = subprocess.run(
        [sys.executable, str(TOOL), "--server-seed", SEED.hex(), "--client-seed", CLIENT, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [json.loads(line) for line in completed.stdout.splitlines()]
    return completed.returncode, lines


def test_tool_imports_only_the_standard_library():
    tree = ast.parse(TOOL.read_text())
    modules = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }

    assert modules <= set(sys.stdlib_module_names) | {"__future__"}


def test_tool_defaults_are_the_engine_defaults():
    spec = {"__name__": "verify_round"}
    exec(compile(TOOL.read_text(), str(TOOL), "exec"), spec)  # noqa: S102 - our own file

    assert spec["DEFAULT_CONFIGS"] == {g: c.to_dict() for g, c in DEFAULT_CONFIGS.items()}


def test_slot_rounds_match_the_engine():
    code, lines = run_tool("--game", "slot", "--nonce", "0", "--count", str(COUNT))

    assert code == 0
    for nonce, line in enumerate(lines):
        outcome = slot_spin(DEFAULT_CONFIGS["slot"], FairRng(SEED, CLIENT, nonce))
        assert line["nonce"] == nonce
        assert line["outcome"] == {
            "reels": list(outcome.reels),
            "multiplier_x100": outcome.multiplier_x100,
        }
    assert len(lines) == COUNT


def test_slot_rounds_with_a_custom_config_file_and_rejections(tmp_path):
    reel = (("A", 1_000_000_000), ("B", 1_500_000_000), ("C", 500_000_000))
    config = SlotConfig(reels=(reel, reel, reel), three_of_a_kind={"A": 150}, pair={"B": 110})
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"engine": config.to_dict()}))

    code, lines = run_tool(
        "--game", "slot", "--nonce", "1000", "--count", "200", "--config", str(path)
    )

    assert code == 0
    for line in lines:
        outcome = slot_spin(config, FairRng(SEED, CLIENT, line["nonce"]))
        assert line["outcome"]["reels"] == list(outcome.reels)
        assert line["outcome"]["multiplier_x100"] == outcome.multiplier_x100


@pytest.mark.parametrize("choice", ["rock", "paper", "scissors"])
def test_rps_rounds_match_the_engine(choice):
    code, lines = run_tool("--game", "rps", "--choice", choice, "--nonce", "0", "--count", "100")

    assert code == 0
    for nonce, line in enumerate(lines):
        outcome = rps_play(DEFAULT_CONFIGS["rps"], FairRng(SEED, CLIENT, nonce), choice)
        assert line["outcome"] == asdict(outcome)


def test_crash_rounds_match_the_engine():
    config = CrashConfig()
    code, lines = run_tool(
        "--game", "crash", "--cashout", "180", "--nonce", "5", "--count", str(COUNT)
    )

    assert code == 0
    assert {line["outcome"]["crash_x100"] == 100 for line in lines} == {True, False}
    for line in lines:
        crash = crash_point_x100(config, FairRng(SEED, CLIENT, line["nonce"]))
        assert line["outcome"] == {
            "crash_x100": crash,
            "cashout_x100": 180,
            "multiplier_x100": crash_settle(config, crash, 180),
        }


@pytest.mark.parametrize(("pity", "pulls"), [(0, 1), (45, 10), (49, 1)])
def test_gacha_rounds_match_the_engine(pity, pulls):
    config = DEFAULT_CONFIGS["gacha"]
    code, lines = run_tool(
        "--game",
        "gacha",
        "--pity",
        str(pity),
        "--pulls",
        str(pulls),
        "--nonce",
        "0",
        "--count",
        "150",
    )

    assert code == 0
    for nonce, line in enumerate(lines):
        rng, current, expected = FairRng(SEED, CLIENT, nonce), pity, []
        for _ in range(pulls):  # one round, one stream: pulls read it one after another
            result = gacha_pull(config, rng, current)
            current = result.pity_after
            expected.append(asdict(result))
        assert line["outcome"] == {"pulls": expected, "pity": current}


def test_seed_hash_check():
    good = server_seed_hash(SEED)

    code, lines = run_tool("--game", "slot", "--nonce", "3", "--server-seed-hash", good)
    assert code == 0
    assert lines[0]["server_seed_hash"] == good
    assert lines[0]["server_seed_hash_matches"] is True

    code, lines = run_tool("--game", "slot", "--nonce", "3", "--server-seed-hash", "00" * 32)
    assert code == 1
    assert lines[0]["server_seed_hash_matches"] is False
