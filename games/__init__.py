"""Games: slot, crash, gacha and rock-paper-scissors, provably fair."""
