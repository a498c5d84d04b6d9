"""Version 1 of every game's configuration, created on first use; staff edit later versions."""

from typing import Any

from games.engine import DEFAULT_CONFIGS

# Rounds per day by rank (0 = unlimited), from the original product.
DAILY_LIMITS: dict[str, dict[str, int]] = {
    "slot": {"STANDARD": 30, "PREMIUM": 40, "VIP": 50},
    "crash": {"STANDARD": 15, "PREMIUM": 20, "VIP": 30},
    "rps": {"STANDARD": 3, "PREMIUM": 4, "VIP": 5},
    "gacha": {"STANDARD": 3, "PREMIUM": 4, "VIP": 5},
}


def default_engine(game: str) -> dict[str, Any]:
    return dict(DEFAULT_CONFIGS[game].to_dict())
