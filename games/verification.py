"""Recomputing a round from its seed pair: what the verify route shows."""

from __future__ import annotations

from typing import Any

from games import engine
from games.models import FairSeed, Game, GameRound
from games.selectors import engine_config, engine_public


def seed_public(seed: FairSeed) -> dict[str, Any]:
    """A seed pair as the player may see it: the server seed only once it is revealed."""
    data: dict[str, Any] = {
        "server_seed_hash": seed.server_seed_hash,
        "client_seed": seed.client_seed,
        "nonce": seed.nonce,
    }
    if seed.revealed_at is not None:
        data["server_seed"] = bytes(seed.server_seed).hex()
        data["revealed_at"] = seed.revealed_at.isoformat()
    return data


def recompute(round_: GameRound, server_seed: bytes) -> dict[str, Any]:
    """The outcome the round's inputs produce, in the shape the round stored it."""
    config = engine_config(round_.config)
    rng = engine.FairRng(server_seed, round_.fair_seed.client_seed, round_.nonce)
    if round_.game == Game.SLOT:
        return {"reels": list(engine.slot_spin(config, rng).reels)}
    if round_.game == Game.RPS:
        outcome = engine.rps_play(config, rng, round_.params["choice"])
        return {"player": outcome.player, "opponent": outcome.opponent, "result": outcome.result}
    if round_.game == Game.CRASH:
        return {"crash_x100": engine.crash_point_x100(config, rng)}
    pity = int(round_.outcome["pulls"][0]["pity_before"])
    pulls = []
    for _ in range(int(round_.params["count"])):
        pull = engine.gacha_pull(config, rng, pity)
        pity = pull.pity_after
        pulls.append({"rarity": pull.rarity, "gold": pull.reward.gold, "item": pull.reward.item})
    return {"pulls": pulls}


def round_params(round_: GameRound) -> dict[str, Any]:
    """What besides the seeds a recomputation needs: the RPS choice, the gacha pulls and pity."""
    if round_.game == Game.RPS:
        return {"choice": round_.params["choice"]}
    if round_.game == Game.GACHA:
        return {
            "pulls": int(round_.params["count"]),
            "pity": int(round_.outcome["pulls"][0]["pity_before"]),
        }
    return {}


def _comparable(round_: GameRound) -> dict[str, Any]:
    outcome = round_.outcome
    if round_.game == Game.CRASH:
        return {"crash_x100": outcome["crash_x100"]}
    if round_.game == Game.GACHA:
        return {
            "pulls": [
                {"rarity": p["rarity"], "gold": p["reward"]["gold"], "item": p["reward"]["item"]}
                for p in outcome["pulls"]
            ]
        }
    return dict(outcome)


def round_verify(round_: GameRound) -> dict[str, Any]:
    """Recompute a settled round when its server seed is revealed; never show an unrevealed one."""
    seed = round_.fair_seed
    result: dict[str, Any] = {
        "round_id": round_.pk,
        "game": round_.game,
        "nonce": round_.nonce,
        "client_seed": seed.client_seed,
        "server_seed_hash": seed.server_seed_hash,
        "config_version": round_.config.version,
        "config": engine_public(round_.config.engine),
        "params": round_params(round_),
    }
    if seed.revealed_at is None or round_.state != "settled":
        return {
            **result,
            "revealed": False,
            "verified": None,
            "message": "Rotate your seed pair to reveal this server seed, then verify.",
        }
    server_seed = bytes(seed.server_seed)
    recomputed = recompute(round_, server_seed)
    return {
        **result,
        "revealed": True,
        "server_seed": server_seed.hex(),
        "hash_matches": engine.server_seed_hash(server_seed) == seed.server_seed_hash,
        "recomputed": recomputed,
        "stored": _comparable(round_),
        "verified": recomputed == _comparable(round_)
        and engine.server_seed_hash(server_seed) == seed.server_seed_hash,
    }
