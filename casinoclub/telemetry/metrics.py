from prometheus_client import Counter

telemetry_events_total = Counter(
    "telemetry_events_total",
    "Telemetry events received (valid, before sampling), by name; names outside"
    " TELEMETRY_METRIC_NAMES are counted as other.",
    ["name"],
)
