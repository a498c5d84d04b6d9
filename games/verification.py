"""Recomputing a round from its seed pair: what the verify route shows."""

from __future__ import annotations

from typing import Any

from games import engine
from games.models import CrashChainHash, CrashPhase, FairSeed, Game, GameRound
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
    assert round_.fair_seed is not None
    assert round_.nonce is not None
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


def _crash_bet_verify(round_: GameRound) -> dict[str, Any]:
    """A bet of the shared crash round: the round's chain link and crash point once it ended."""
    shared = round_.crash_round
    assert shared is not None
    result: dict[str, Any] = {
        "round_id": round_.pk,
        "game": round_.game,
        "nonce": None,
        "client_seed": None,
        "server_seed_hash": None,
        "crash_round_id": shared.pk,
        "config_version": round_.config.version,
        "config": engine_public(round_.config.engine),
        "params": {},
    }
    if shared.phase not in (CrashPhase.BUSTED, CrashPhase.VOIDED):
        return {
            **result,
            "revealed": False,
            "verified": None,
            "message": "The round's hash is revealed when it busts.",
        }
    previous = (
        CrashChainHash.objects.filter(chain_id=shared.chain_id, position=shared.position - 1)
        .values_list("hash", flat=True)
        .get()
    )
    recomputed = {
        "crash_x100": engine.chain_crash_point_x100(
            engine_config(shared.config), shared.hash, shared.chain.salt
        )
    }
    link_ok = engine.chain_link_valid(shared.hash, previous)
    stored = {"crash_x100": shared.crash_x100}
    return {
        **result,
        "revealed": True,
        "hash": shared.hash,
        "previous_hash": previous,
        "salt": shared.chain.salt,
        "hash_matches": link_ok,
        "recomputed": recomputed,
        "stored": stored,
        "verified": link_ok and recomputed == stored,
    }


def round_verify(round_: GameRound) -> dict[str, Any]:
    """Recompute a settled round when its server seed is revealed; never show an unrevealed one."""
    if round_.crash_round_id is not None:
        return _crash_bet_verify(round_)
    seed = round_.fair_seed
    assert seed is not None
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
