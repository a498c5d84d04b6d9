from prometheus_client import Counter, Histogram

game_stats_update_latency_ms = Histogram(
    "game_stats_update_latency_ms",
    "Time to update a player's stats and leaderboards for one round.",
    buckets=(0.5, 1, 2, 5, 10, 25, 50, 100, 250),
)
game_rounds_total = Counter("game_rounds_total", "Settled game rounds.", ["game"])
