"""Simulated RTP through the fair stream agrees with the exact figure, for every game."""

import pytest

from games.engine import DEFAULT_CONFIGS, GAMES, exact_odds, simulate
from games.engine.crash import CrashConfig

ROUNDS = {"slot": 300_000, "crash": 150_000, "rps": 150_000, "gacha": 120_000}
SEED = bytes.fromhex("5eed" * 16)


@pytest.mark.parametrize("game", GAMES)
def test_simulated_rtp_is_within_4_standard_errors_of_the_exact_rtp(game):
    config = DEFAULT_CONFIGS[game]
    exact = exact_odds(game, config)

    result = simulate(game, config, ROUNDS[game], SEED)

    assert result.rounds == ROUNDS[game] == sum(result.histogram.values())
    assert result.standard_error > 0
    assert abs(result.rtp - float(exact.rtp)) <= 4 * result.standard_error
    # Hit rate is a proportion: its own standard error is sqrt(p(1-p)/n).
    p = float(exact.hit_rate)
    assert abs(result.hit_rate - p) <= 4 * (p * (1 - p) / result.rounds) ** 0.5


def test_crash_simulation_at_another_target():
    config = CrashConfig()
    exact = exact_odds("crash", config, crash_target_x100=500)

    result = simulate("crash", config, 100_000, SEED, crash_target_x100=500)

    assert set(result.histogram) == {0, 500}
    assert abs(result.rtp - float(exact.rtp)) <= 4 * result.standard_error


def test_simulation_reports_progress_and_is_reproducible():
    calls = []

    first = simulate("slot", DEFAULT_CONFIGS["slot"], 25_001, SEED, progress=calls.append)
    second = simulate("slot", DEFAULT_CONFIGS["slot"], 25_001, SEED)

    assert sum(calls) == 25_001
    assert len(calls) == 3
    assert first == second
    assert first.total_staked == 100 * 25_001
    assert first.max_win_multiplier_x100 == max(first.histogram)
    assert first.total_returned == sum(m * n for m, n in first.histogram.items())


def test_gacha_simulation_stakes_the_price_and_returns_gold_only():
    result = simulate("gacha", DEFAULT_CONFIGS["gacha"], 1_000, SEED)

    assert result.stake == DEFAULT_CONFIGS["gacha"].price
    # an item-only pull returns no gold: items are not counted at any gold value
    assert min(result.histogram) == 0
    assert result.total_returned == sum(m * n for m, n in result.histogram.items())


def test_simulation_refuses_bad_input():
    with pytest.raises(ValueError, match="unknown game"):
        simulate("poker", DEFAULT_CONFIGS["slot"], 10, SEED)
    with pytest.raises(ValueError, match="rounds must be at least 1"):
        simulate("slot", DEFAULT_CONFIGS["slot"], 0, SEED)
    with pytest.raises(TypeError):
        simulate("slot", DEFAULT_CONFIGS["rps"], 10, SEED)
