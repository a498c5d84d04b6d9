"""FairRng: known answers pin the derivation; rejection sampling is exact."""

import hashlib
import hmac
from collections import Counter

import pytest

from games.engine.fair import UINT32_RANGE, FairRng, new_server_seed, server_seed_hash

SEED = bytes(range(32))
CLIENT = "casino-club"


class ScriptedRng(FairRng):
    """A FairRng whose uint32 draws are given, to exercise next_below's rejection branch."""

    def __init__(self, values: list[int]) -> None:
        super().__init__(SEED, CLIENT, 0)
        self.values = list(values)

    def next_uint32(self) -> int:
        return self.values.pop(0)


def test_server_seed_hash_is_sha256_hex():
    assert (
        server_seed_hash(SEED) == "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"
    )
    assert server_seed_hash(SEED) == hashlib.sha256(SEED).hexdigest()


def test_new_server_seed_is_32_fresh_bytes():
    first, second = new_server_seed(), new_server_seed()

    assert len(first) == 32
    assert len(second) == 32
    assert first != second


def test_stream_blocks_are_hmac_of_client_seed_nonce_cursor():
    rng = FairRng(SEED, CLIENT, 0)

    stream = rng.next_bytes(64)

    assert stream[:32].hex() == "c0e6ae18bf97a0deec19dc4cc82e14796385fb957b26fa7d1d55e51e39fd62d1"
    assert stream[32:].hex() == "76f93e4e499d4dc40e6608638755743236abd9dfddcdd0d629078a3b147f45db"
    assert stream[:32] == hmac.new(SEED, b"casino-club:0:0", hashlib.sha256).digest()
    assert stream[32:] == hmac.new(SEED, b"casino-club:0:1", hashlib.sha256).digest()
    assert rng.blocks_used == 2


def test_uint32_known_answers_and_straddling_a_block():
    rng = FairRng(SEED, CLIENT, 0)

    values = [rng.next_uint32() for _ in range(9)]

    assert values == [
        3236343320,
        3214385374,
        3961117772,
        3358463097,
        1669725077,
        2066152061,
        492168478,
        972907217,
        1996045902,
    ]
    # A 7-byte float read first shifts every later uint32 across the block boundary.
    shifted = FairRng(SEED, CLIENT, 0)
    shifted.next_bytes(30)
    assert shifted.next_uint32() == int.from_bytes(bytes.fromhex("62d176f9"), "big")


def test_float_is_top_52_bits_of_seven_bytes():
    rng = FairRng(SEED, CLIENT, 1)
    raw = FairRng(SEED, CLIENT, 1).next_bytes(14)

    first, k = rng.next_float(), rng.next_uint52()

    assert first == 0.8759766555789672
    assert first == (int.from_bytes(raw[:7], "big") >> 4) / 2**52
    assert k == 3534696071229127 == int.from_bytes(raw[7:14], "big") >> 4


def test_next_below_and_weighted_index_known_answers():
    rng = FairRng(SEED, CLIENT, 2)
    assert [rng.next_below(n) for n in (1, 2, 3, 6, 100, 2**32)] == [0, 0, 0, 2, 61, 3593361268]

    rng = FairRng(SEED, CLIENT, 3)
    assert [rng.weighted_index([1, 2, 3, 4]) for _ in range(10)] == [3, 3, 2, 2, 1, 3, 3, 2, 0, 3]


@pytest.mark.parametrize(
    "n", [*range(1, 301), 1000, 6_000_000, 2**31 + 1, 3 * 2**30, 2**32 - 1, 2**32]
)
def test_rejection_threshold_keeps_an_exact_multiple_of_n(n):
    """Accepting x < limit and returning x % n gives every residue limit / n preimages: no bias."""
    limit = UINT32_RANGE - UINT32_RANGE % n

    assert limit % n == 0
    assert UINT32_RANGE - n < limit <= UINT32_RANGE


def test_next_below_rejects_at_the_threshold_and_accepts_just_below():
    n = 3
    limit = UINT32_RANGE - UINT32_RANGE % n  # 2**32 - 1
    rng = ScriptedRng([limit, UINT32_RANGE - 1, limit - 1, 5])

    assert rng.next_below(n) == (limit - 1) % n
    assert rng.values == [5]


def test_next_below_exhaustively_uniform_on_a_small_word():
    """The same rule on every 8-bit word: each residue of n = 3, 5, 6, 7, 100 is hit equally."""
    for n in (3, 5, 6, 7, 100):
        limit = 256 - 256 % n
        counts = Counter(x % n for x in range(256) if x < limit)
        assert set(counts.values()) == {limit // n}
        assert len(counts) == n


def test_next_below_frequencies_are_flat():
    rng = FairRng(SEED, "flat", 0)

    counts = Counter(rng.next_below(6) for _ in range(60_000))

    assert all(abs(count - 10_000) < 5 * 91 for count in counts.values())  # 5 sigma


@pytest.mark.parametrize("n", [0, -1, 2**32 + 1])
def test_next_below_rejects_impossible_ranges(n):
    with pytest.raises(ValueError, match="between 1 and 2"):
        FairRng(SEED, CLIENT, 0).next_below(n)


def test_weighted_index_skips_zero_weights_and_rejects_bad_weights():
    rng = FairRng(SEED, CLIENT, 4)

    assert {rng.weighted_index([0, 5, 0]) for _ in range(50)} == {1}
    with pytest.raises(ValueError, match="between 1 and 2"):
        rng.weighted_index([0, 0])
    with pytest.raises(ValueError, match="non-negative"):
        rng.weighted_index([3, -1])


def test_a_negative_nonce_is_refused():
    with pytest.raises(ValueError, match="nonce must be"):
        FairRng(SEED, CLIENT, -1)


def test_streams_differ_by_every_input():
    base = FairRng(SEED, CLIENT, 0).next_bytes(32)

    assert FairRng(SEED, CLIENT, 1).next_bytes(32) != base
    assert FairRng(SEED, "other", 0).next_bytes(32) != base
    assert FairRng(bytes(32), CLIENT, 0).next_bytes(32) != base
