"""The shared crash round's provably fair inputs: a SHA-256 hash chain and a public salt.

The chain (the Bustabit construction, docs/fairness.md):

- ``chain[0]`` is 32 random bytes as lowercase hex (kept secret);
- ``chain[i] = sha256(chain[i - 1] as ASCII).hexdigest()`` for i = 1 … N;
- ``chain[N]``, the terminal hash, is published before the first round is played.

Rounds consume the chain backwards: the chain's round ``k`` (k = 1 … N) plays ``chain[N - k]``,
so ``sha256(hash of round k) == hash of round k - 1`` with round 0's hash = the terminal hash.
Revealing a round's hash reveals nothing about the rounds still to come (SHA-256 is one-way), and
the operator cannot pick a later hash: it must hash to the one already revealed.

The crash point of a round is ``HMAC-SHA256(key=round hash as ASCII, msg=salt as ASCII)``; its first
13 hex digits (52 bits) ``k`` give ``crash_point_from_uint52``: ``floor(99 / (1 - k / 2**52))``
hundredths with the default 1 % edge, at least 1.00× (instant bust) and at most the cap. The salt is
fixed only after the terminal hash was published, from a value nobody controls (a future Bitcoin
block's hash), so the operator could not have chosen a chain that suits it.

Standard library only, like ``games.engine.fair``: ``tools/verify_round.py`` mirrors it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator

from games.engine.crash import CrashConfig, crash_point_from_uint52

HASH_HEX_LENGTH = 64


def chain_next(hash_hex: str) -> str:
    """The chain's next link: SHA-256 of the hash's lowercase hex text."""
    return hashlib.sha256(hash_hex.encode("ascii")).hexdigest()


def chain_seed_new() -> str:
    """A fresh secret chain start: 32 bytes from the operating system's CSPRNG, as hex."""
    return secrets.token_bytes(32).hex()


def chain_hashes(seed_hex: str, length: int) -> Iterator[str]:
    """``chain[0] … chain[length]`` in generation order (``length + 1`` hashes; the last one is
    the terminal hash, the first the secret seed)."""
    if length < 1:
        raise ValueError("a chain has at least one round")
    if not is_hash_hex(seed_hex):
        raise ValueError("the seed is 64 lowercase hex digits")
    current = seed_hex
    yield current
    for _ in range(length):
        current = chain_next(current)
        yield current


def is_hash_hex(value: object) -> bool:
    """64 lowercase hex digits."""
    return (
        isinstance(value, str)
        and len(value) == HASH_HEX_LENGTH
        and all(character in "0123456789abcdef" for character in value)
    )


def round_uint52(round_hash_hex: str, salt: str) -> int:
    """The round's 52-bit draw: the top 52 bits of HMAC-SHA256(key=round hash, msg=salt)."""
    digest = hmac.new(round_hash_hex.encode("ascii"), salt.encode("ascii"), hashlib.sha256)
    return int(digest.hexdigest()[:13], 16)


def chain_crash_point_x100(config: CrashConfig, round_hash_hex: str, salt: str) -> int:
    """The shared round's crash point (x100) from its chain hash and the chain's salt."""
    return crash_point_from_uint52(config, round_uint52(round_hash_hex, salt))


def chain_link_valid(round_hash_hex: str, previous_hash_hex: str) -> bool:
    """Whether ``round_hash_hex`` is the link before ``previous_hash_hex`` (the previous round's
    hash, or the terminal hash for the chain's first round)."""
    return is_hash_hex(round_hash_hex) and chain_next(round_hash_hex) == previous_hash_hex
