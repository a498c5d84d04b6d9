"""The provably fair byte stream every game draws from.

Block ``cursor`` of a round is
``HMAC-SHA256(key=server_seed, msg=f"{client_seed}:{nonce}:{cursor}".encode())`` for
cursor = 0, 1, 2, …; the stream is the blocks concatenated, read in order, never reused (a
value may straddle two blocks). docs/fairness.md specifies every draw; tools/verify_round.py
re-implements it from that document alone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

BLOCK_BYTES = 32
UINT32_RANGE = 1 << 32
FLOAT_BITS = 52
FLOAT_RANGE = 1 << FLOAT_BITS


def fair_block(server_seed: bytes, client_seed: str, nonce: int, cursor: int) -> bytes:
    """One 32-byte block of a round's stream."""
    return hmac.digest(server_seed, f"{client_seed}:{nonce}:{cursor}".encode(), "sha256")


class FairRng:
    """Deterministic draws from one round's stream (server seed, client seed, nonce)."""

    __slots__ = ("_buffer", "_client_seed", "_cursor", "_nonce", "_position", "_server_seed")

    def __init__(self, server_seed: bytes, client_seed: str, nonce: int) -> None:
        if nonce < 0:
            raise ValueError("nonce must be a non-negative integer")
        self._server_seed = bytes(server_seed)
        self._client_seed = client_seed
        self._nonce = nonce
        self._cursor = 0
        self._buffer = b""
        self._position = 0

    @property
    def blocks_used(self) -> int:
        """How many HMAC blocks the draws so far have started."""
        return self._cursor

    def next_bytes(self, count: int) -> bytes:
        """The next ``count`` bytes of the stream."""
        if count < 0:
            raise ValueError("count must be non-negative")
        chunks: list[bytes] = []
        while count > 0:
            if self._position == len(self._buffer):
                self._buffer = fair_block(
                    self._server_seed, self._client_seed, self._nonce, self._cursor
                )
                self._cursor += 1
                self._position = 0
            take = min(count, len(self._buffer) - self._position)
            chunks.append(self._buffer[self._position : self._position + take])
            self._position += take
            count -= take
        return b"".join(chunks)

    def next_uint32(self) -> int:
        """The next 4 bytes as a big-endian unsigned integer."""
        return int.from_bytes(self.next_bytes(4), "big")

    def next_uint52(self) -> int:
        """The top 52 bits of the next 7 bytes (big-endian): an integer in [0, 2**52)."""
        return int.from_bytes(self.next_bytes(7), "big") >> 4

    def next_float(self) -> float:
        """A float in [0, 1): ``next_uint52() / 2**52`` (exact, doubles hold 52 bits)."""
        return self.next_uint52() / FLOAT_RANGE

    def next_below(self, n: int) -> int:
        """An unbiased integer in [0, n), 1 <= n <= 2**32.

        Rejection sampling: draw uint32 values until one is below the largest multiple of ``n``
        that fits in 2**32, then take it modulo ``n``.
        """
        if not 1 <= n <= UINT32_RANGE:
            raise ValueError(f"n must be between 1 and 2**32, got {n}")
        limit = UINT32_RANGE - UINT32_RANGE % n
        while True:
            value = self.next_uint32()
            if value < limit:
                return value % n

    def weighted_index(self, weights: Sequence[int]) -> int:
        """Index ``i`` with probability ``weights[i] / sum(weights)``.

        Draws ``r = next_below(sum(weights))`` and walks the weights in order: the first index
        whose cumulative weight exceeds ``r``.
        """
        if any(weight < 0 for weight in weights):
            raise ValueError("weights must be non-negative")
        remaining = self.next_below(sum(weights))
        for index, weight in enumerate(weights):
            if remaining < weight:
                return index
            remaining -= weight
        raise AssertionError("unreachable: r < sum(weights)")  # pragma: no cover


def server_seed_hash(server_seed: bytes) -> str:
    """The commitment shown before play: SHA-256 of the seed bytes, lowercase hex."""
    return hashlib.sha256(server_seed).hexdigest()


def new_server_seed() -> bytes:
    """A fresh secret server seed: 32 bytes from the operating system's CSPRNG."""
    return secrets.token_bytes(32)
