from prometheus_client import Counter

event_mission_requests_total = Counter(
    "event_mission_requests_total",
    "Requests to the events and missions routes by route and result (ok, replayed,"
    " not_modified or the error code).",
    ["route", "result"],
)
