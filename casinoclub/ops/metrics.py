from prometheus_client import Counter, Gauge

from casinoclub.stored_gauges import StoredGauge

celery_queue_length = StoredGauge(
    "celery_queue_length",
    "Tasks waiting in the Celery broker's default queue (beat: every 30 s).",
    max_age_seconds=5 * 60,
)
metrics_streams_active = Gauge(
    "metrics_streams_active", "Open GET /api/metrics/stream responses in this process."
)
metrics_streams_closed_total = Counter(
    "metrics_streams_closed_total",
    "Closed GET /api/metrics/stream responses, by why (disconnect, max_duration).",
    ["reason"],
)
