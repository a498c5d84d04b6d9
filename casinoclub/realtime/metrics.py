from prometheus_client import Counter, Gauge, Histogram

realtime_message_lag_ms = Histogram(
    "realtime_message_lag_ms",
    "Milliseconds from commit (the message's on-commit hook starting) to its hand-off to the"
    " channel layer.",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000),
)
realtime_group_fanout_ms = Histogram(
    "realtime_group_fanout_ms",
    "Milliseconds a socket process took to write one public-group frame to all its subscribers"
    " (what the last of them waited).",
    ["group"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500),
)
realtime_group_subscribers = Gauge(
    "realtime_group_subscribers", "Sockets of this process subscribed to a public group.", ["group"]
)
ws_active_connections = Gauge(
    "ws_active_connections", "Authenticated sockets open on /api/realtime/sync in this process."
)
ws_disconnects_total = Counter(
    "ws_disconnects_total",
    "Sockets on /api/realtime/sync that closed, by WebSocket close code (rare codes as other).",
    ["code"],
)
# Close codes worth their own series; any other code is counted as "other" (bounded labels).
WS_CLOSE_CODE_LABELS = frozenset({1000, 1001, 1005, 1006, 1011, 1012, 4400, 4401, 4403, 4429})


def ws_close_code_label(code: int | None) -> str:
    return str(code) if code in WS_CLOSE_CODE_LABELS else "other"
