#!/usr/bin/env python3
"""Recompute a Casino Club round from its revealed fairness inputs (docs/fairness.md).

Standalone: Python 3.11+ standard library only, no project code, so anyone can check a round.

    python tools/verify_round.py --game slot --server-seed HEX --client-seed S --nonce N
    python tools/verify_round.py --game rps --choice rock ...
    python tools/verify_round.py --game crash --cashout 200 ...      # also settle a 2.00x cash-out
    python tools/verify_round.py --game gacha --pulls 10 --pity 3 ...  # a ten-pull from pity 3
    python tools/verify_round.py --game crash-round --hash H --salt S [--previous-hash P]
        [--terminal-hash T --position K]    # a shared crash round and its place in the chain

``--config FILE`` takes the round's engine configuration as JSON (the object the odds and verify
routes show; ``{"engine": {...}}`` is accepted too); without it the default configuration is used.
``--server-seed-hash`` also checks the commitment; a mismatch exits with status 1.
``--count K`` recomputes nonces N .. N+K-1, one JSON line each.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
from typing import Any

DEFAULT_CONFIGS: dict[str, dict[str, Any]] = {
    "slot": {
        "reels": [
            [
                ["CHERRY", 22],
                ["LEMON", 30],
                ["BELL", 20],
                ["BAR", 14],
                ["SEVEN", 9],
                ["DIAMOND", 5],
            ],
            [
                ["CHERRY", 22],
                ["LEMON", 30],
                ["BELL", 20],
                ["BAR", 14],
                ["SEVEN", 9],
                ["DIAMOND", 5],
            ],
            [
                ["CHERRY", 24],
                ["LEMON", 30],
                ["BELL", 20],
                ["BAR", 14],
                ["SEVEN", 8],
                ["DIAMOND", 4],
            ],
        ],
        "three_of_a_kind": {
            "CHERRY": 600,
            "LEMON": 500,
            "BELL": 1200,
            "BAR": 2500,
            "SEVEN": 7500,
            "DIAMOND": 25000,
        },
        "pair": {"CHERRY": 200, "BAR": 250, "SEVEN": 500, "DIAMOND": 800},
    },
    "crash": {"house_edge_bp": 100, "max_multiplier_x100": 1_000_000, "growth_per_ms": 0.00006},
    "rps": {"win_multiplier_x100": 196},
    "gacha": {
        "rarities": [
            {
                "name": "common",
                "weight": 7000,
                "rewards": [
                    {"gold": 30, "item": None, "weight": 60},
                    {"gold": 40, "item": None, "weight": 30},
                    {"gold": 0, "item": "frame_bronze", "weight": 10},
                ],
            },
            {
                "name": "rare",
                "weight": 2200,
                "rewards": [
                    {"gold": 110, "item": None, "weight": 50},
                    {"gold": 0, "item": "emote_lucky_cat", "weight": 30},
                    {"gold": 60, "item": "frame_silver", "weight": 20},
                ],
            },
            {
                "name": "epic",
                "weight": 650,
                "rewards": [
                    {"gold": 280, "item": None, "weight": 50},
                    {"gold": 0, "item": "card_back_royal", "weight": 30},
                    {"gold": 100, "item": "frame_gold", "weight": 20},
                ],
            },
            {
                "name": "legendary",
                "weight": 150,
                "rewards": [
                    {"gold": 0, "item": "skin_golden_dragon", "weight": 40},
                    {"gold": 800, "item": None, "weight": 40},
                    {"gold": 200, "item": "skin_jade_tiger", "weight": 20},
                ],
            },
        ],
        "pity_threshold": 50,
        "price": 100,
        "ten_pull_price": 950,
        "item_values": {
            "frame_bronze": 50,
            "emote_lucky_cat": 150,
            "frame_silver": 100,
            "card_back_royal": 400,
            "frame_gold": 300,
            "skin_golden_dragon": 1200,
            "skin_jade_tiger": 800,
        },
    },
}


class Stream:
    """Bytes of HMAC-SHA256(server_seed, f"{client_seed}:{nonce}:{cursor}") for cursor 0, 1, …"""

    def __init__(self, server_seed: bytes, client_seed: str, nonce: int) -> None:
        self.key, self.client_seed, self.nonce = server_seed, client_seed, nonce
        self.cursor, self.buffer = 0, b""

    def take(self, count: int) -> bytes:
        while len(self.buffer) < count:
            message = f"{self.client_seed}:{self.nonce}:{self.cursor}".encode()
            self.buffer += hmac.new(self.key, message, hashlib.sha256).digest()
            self.cursor += 1
        taken, self.buffer = self.buffer[:count], self.buffer[count:]
        return taken

    def uint32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def uint52(self) -> int:
        return int.from_bytes(self.take(7), "big") >> 4

    def below(self, n: int) -> int:
        limit = 2**32 - 2**32 % n
        while True:
            value = self.uint32()
            if value < limit:
                return value % n

    def weighted(self, weights: list[int]) -> int:
        r = self.below(sum(weights))
        for index, weight in enumerate(weights):
            if r < weight:
                return index
            r -= weight
        raise AssertionError("unreachable")


def slot(config: dict[str, Any], stream: Stream) -> dict[str, Any]:
    reels = [reel[stream.weighted([w for _, w in reel])][0] for reel in config["reels"]]
    a, b, c = reels
    if a == b == c:
        multiplier = config["three_of_a_kind"].get(a, 0)
    elif a in (b, c):
        multiplier = config["pair"].get(a, 0)
    elif b == c:
        multiplier = config["pair"].get(b, 0)
    else:
        multiplier = 0
    return {"reels": reels, "multiplier_x100": multiplier}


def rps(config: dict[str, Any], stream: Stream, choice: str) -> dict[str, Any]:
    choices = ["rock", "paper", "scissors"]
    if choice not in choices:
        raise SystemExit(f"--choice must be one of {choices}")
    opponent = choices[stream.below(3)]
    beats = {"rock": "scissors", "paper": "rock", "scissors": "paper"}
    if opponent == choice:
        result, multiplier = "draw", 100
    elif beats[choice] == opponent:
        result, multiplier = "win", config["win_multiplier_x100"]
    else:
        result, multiplier = "loss", 0
    return {"player": choice, "opponent": opponent, "result": result, "multiplier_x100": multiplier}


def crash(config: dict[str, Any], stream: Stream, cashout_x100: int | None) -> dict[str, Any]:
    k = stream.uint52()
    raw = (10_000 - config["house_edge_bp"]) * 2**52 // (100 * (2**52 - k))
    crash_x100 = max(100, min(config["max_multiplier_x100"], raw))
    outcome: dict[str, Any] = {"crash_x100": crash_x100}
    if cashout_x100 is not None:
        won = crash_x100 > 100 and cashout_x100 <= crash_x100
        outcome["cashout_x100"] = cashout_x100
        outcome["multiplier_x100"] = cashout_x100 if won else 0
    return outcome


def crash_round(config: dict[str, Any], round_hash: str, salt: str) -> dict[str, Any]:
    """The shared round's crash point: the top 52 bits of HMAC-SHA256(key=hash, msg=salt)."""
    digest = hmac.new(round_hash.encode("ascii"), salt.encode("ascii"), hashlib.sha256)
    k = int(digest.hexdigest()[:13], 16)
    raw = (10_000 - config["house_edge_bp"]) * 2**52 // (100 * (2**52 - k))
    return {"crash_x100": max(100, min(config["max_multiplier_x100"], raw))}


def chain_next(hash_hex: str) -> str:
    """The next link of a crash chain: SHA-256 of the hash's lowercase hex text."""
    return hashlib.sha256(hash_hex.encode("ascii")).hexdigest()


def verify_crash_round(args: argparse.Namespace, config: dict[str, Any]) -> int:
    round_hash = args.hash.strip().lower()
    report: dict[str, Any] = {
        "game": "crash-round",
        "hash": round_hash,
        "salt": args.salt,
        "outcome": crash_round(config, round_hash, args.salt),
    }
    ok = True
    if args.previous_hash is not None:
        # the round's hash hashes to the previous round's (the terminal hash for round 1)
        report["link_matches"] = chain_next(round_hash) == args.previous_hash.strip().lower()
        ok = ok and report["link_matches"]
    if args.terminal_hash is not None:
        if args.position is None or args.position < 1:
            raise SystemExit("--terminal-hash needs --position K (the round's place, 1 = first)")
        current = round_hash
        for _ in range(args.position):
            current = chain_next(current)
        report["chain_matches"] = current == args.terminal_hash.strip().lower()
        ok = ok and report["chain_matches"]
    print(json.dumps(report, sort_keys=True))
    return 0 if ok else 1


def gacha(config: dict[str, Any], stream: Stream, pity: int, pulls: int) -> dict[str, Any]:
    results = []
    for _ in range(pulls):
        forced = pity + 1 >= config["pity_threshold"]
        candidates = [
            r for r in config["rarities"] if not forced or r["name"] in ("epic", "legendary")
        ]
        rarity = candidates[stream.weighted([r["weight"] for r in candidates])]
        reward = rarity["rewards"][stream.weighted([w["weight"] for w in rarity["rewards"]])]
        after = 0 if rarity["name"] in ("epic", "legendary") else pity + 1
        results.append(
            {
                "rarity": rarity["name"],
                "reward": {"gold": reward.get("gold", 0), "item": reward.get("item")},
                "pity_before": pity,
                "pity_after": after,
                "was_pity": forced,
            }
        )
        pity = after
    return {"pulls": results, "pity": pity}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Recompute a Casino Club round (docs/fairness.md)."
    )
    parser.add_argument("--game", required=True, choices=[*sorted(DEFAULT_CONFIGS), "crash-round"])
    parser.add_argument("--server-seed", help="revealed server seed, hex")
    parser.add_argument("--client-seed")
    parser.add_argument("--nonce", type=int)
    parser.add_argument("--count", type=int, default=1, help="verify nonces N .. N+count-1")
    parser.add_argument("--config", help="engine configuration JSON file (default: defaults)")
    parser.add_argument("--server-seed-hash", help="the SHA-256 shown before play, to check")
    parser.add_argument("--choice", help="rps: the player's choice")
    parser.add_argument("--cashout", type=int, help="crash: cash-out multiplier x100 to settle")
    parser.add_argument("--pity", type=int, default=0, help="gacha: pity before the first pull")
    parser.add_argument("--pulls", type=int, default=1, help="gacha: pulls in the round (1/10)")
    parser.add_argument("--hash", help="crash-round: the round's revealed hash")
    parser.add_argument("--salt", help="crash-round: the chain's salt")
    parser.add_argument("--previous-hash", help="crash-round: the previous round's hash")
    parser.add_argument("--terminal-hash", help="crash-round: the chain's published terminal hash")
    parser.add_argument("--position", type=int, help="crash-round: the round's place in its chain")
    args = parser.parse_args(argv)

    if args.game == "crash-round":
        if args.hash is None or args.salt is None:
            parser.error("crash-round needs --hash and --salt")
        config = DEFAULT_CONFIGS["crash"]
        if args.config:
            with open(args.config, encoding="utf-8") as handle:
                loaded = json.load(handle)
            config = loaded.get("engine", loaded)
        return verify_crash_round(args, config)
    if args.server_seed is None or args.client_seed is None or args.nonce is None:
        parser.error("--server-seed, --client-seed and --nonce are required for this game")

    server_seed = bytes.fromhex(args.server_seed)
    seed_hash = hashlib.sha256(server_seed).hexdigest()
    if args.config:
        with open(args.config, encoding="utf-8") as handle:
            config = json.load(handle)
        config = config.get("engine", config)
    else:
        config = DEFAULT_CONFIGS[args.game]
    hash_ok = None
    if args.server_seed_hash is not None:
        hash_ok = hmac.compare_digest(seed_hash, args.server_seed_hash.strip().lower())

    for nonce in range(args.nonce, args.nonce + args.count):
        stream = Stream(server_seed, args.client_seed, nonce)
        if args.game == "slot":
            outcome = slot(config, stream)
        elif args.game == "rps":
            outcome = rps(config, stream, args.choice)
        elif args.game == "crash":
            outcome = crash(config, stream, args.cashout)
        else:
            outcome = gacha(config, stream, args.pity, args.pulls)
        report: dict[str, Any] = {
            "game": args.game,
            "server_seed_hash": seed_hash,
            "client_seed": args.client_seed,
            "nonce": nonce,
            "outcome": outcome,
        }
        if hash_ok is not None:
            report["server_seed_hash_matches"] = hash_ok
        print(json.dumps(report, sort_keys=True))
    return 1 if hash_ok is False else 0


if __name__ == "__main__":
    sys.exit(main())
