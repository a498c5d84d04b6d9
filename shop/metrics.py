from prometheus_client import Counter

purchase_attempt_total = Counter(
    "purchase_attempt_total",
    "Purchase state changes by flow, result (pending/success/failed/refunded) and reason.",
    ["flow", "result", "reason"],
)
