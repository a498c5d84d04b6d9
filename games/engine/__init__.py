"""Game engines: pure Python, no Django, deterministic given (server seed, client seed, nonce).

Nothing here may import Django or another app (import-linter enforces it), nor ``random``
(ruff's banned-api): every draw comes from ``FairRng``, specified in docs/fairness.md.
"""

from games.engine.crash import (
    CrashConfig,
    crash_bust_ms,
    crash_cashout_at,
    crash_odds,
    crash_point_x100,
    crash_probability_at_least,
    crash_settle,
    elapsed_ms_for_x100,
    multiplier_at_x100,
)
from games.engine.crash_chain import (
    chain_crash_point_x100,
    chain_hashes,
    chain_link_valid,
    chain_next,
    chain_seed_new,
    is_hash_hex,
)
from games.engine.fair import FairRng, new_server_seed, server_seed_hash
from games.engine.gacha import (
    DEFAULT_GACHA_CONFIG,
    GachaConfig,
    GachaPull,
    GachaRarity,
    GachaReward,
    gacha_gold_per_pull,
    gacha_item_drop_rates,
    gacha_odds,
    gacha_pull,
)
from games.engine.odds import Odds, OutcomeProbability, apply_multiplier
from games.engine.rps import CHOICES, Choice, RpsConfig, RpsOutcome, rps_odds, rps_play
from games.engine.simulate import SimulationResult, exact_odds, simulate
from games.engine.slot import (
    DEFAULT_SLOT_CONFIG,
    SlotConfig,
    SlotOutcome,
    slot_odds,
    slot_spin,
)

GAMES = ("slot", "crash", "gacha", "rps")

DEFAULT_CRASH_CONFIG = CrashConfig()
DEFAULT_RPS_CONFIG = RpsConfig()
DEFAULT_CONFIGS: dict[str, SlotConfig | CrashConfig | GachaConfig | RpsConfig] = {
    "slot": DEFAULT_SLOT_CONFIG,
    "crash": DEFAULT_CRASH_CONFIG,
    "gacha": DEFAULT_GACHA_CONFIG,
    "rps": DEFAULT_RPS_CONFIG,
}

__all__ = [
    "CHOICES",
    "DEFAULT_CONFIGS",
    "DEFAULT_CRASH_CONFIG",
    "DEFAULT_GACHA_CONFIG",
    "DEFAULT_RPS_CONFIG",
    "DEFAULT_SLOT_CONFIG",
    "GAMES",
    "Choice",
    "CrashConfig",
    "FairRng",
    "GachaConfig",
    "GachaPull",
    "GachaRarity",
    "GachaReward",
    "Odds",
    "OutcomeProbability",
    "RpsConfig",
    "RpsOutcome",
    "SimulationResult",
    "SlotConfig",
    "SlotOutcome",
    "apply_multiplier",
    "chain_crash_point_x100",
    "chain_hashes",
    "chain_link_valid",
    "chain_next",
    "chain_seed_new",
    "crash_bust_ms",
    "crash_cashout_at",
    "crash_odds",
    "crash_point_x100",
    "crash_probability_at_least",
    "crash_settle",
    "elapsed_ms_for_x100",
    "exact_odds",
    "gacha_gold_per_pull",
    "gacha_item_drop_rates",
    "gacha_odds",
    "gacha_pull",
    "is_hash_hex",
    "multiplier_at_x100",
    "new_server_seed",
    "rps_odds",
    "rps_play",
    "server_seed_hash",
    "simulate",
    "slot_odds",
    "slot_spin",
]
