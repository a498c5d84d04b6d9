from prometheus_client import Gauge, Histogram

realtime_message_lag_ms = Histogram(
    "realtime_message_lag_ms",
    "Milliseconds from commit (the message's on-commit hook starting) to its hand-off to the"
    " channel layer.",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000),
)
ws_active_connections = Gauge(
    "ws_active_connections", "Authenticated sockets open on /api/realtime/sync in this process."
)
