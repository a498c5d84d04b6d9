"""Cluster-wide gauges: set by any process (a Celery beat job), exported by every web process.

A ``prometheus_client.Gauge`` lives in the memory of the process that sets it, so a value measured
by a Celery worker would never reach the web processes Prometheus scrapes. A ``StoredGauge`` keeps
its value in Redis (Django's cache) for ``max_age_seconds``; one collector, registered once, reads
every stored gauge at scrape time. A value older than that is dropped, so a job that stopped
running shows as an absent series (alert on ``absent(...)``), never as a stale healthy value.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.core.cache import cache
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

_KEY = "stored_gauge:{name}"


class StoredGauge:
    """A label-less gauge whose value lives in Redis. Declare it once, at import time."""

    def __init__(self, name: str, documentation: str, *, max_age_seconds: int = 15 * 60) -> None:
        if name in _GAUGES:
            raise ValueError(f"stored gauge {name!r} is declared twice")
        self.name = name
        self.documentation = documentation
        self.max_age_seconds = max_age_seconds
        self.key = _KEY.format(name=name)
        _GAUGES[name] = self

    def set(self, value: float) -> None:
        cache.set(self.key, float(value), self.max_age_seconds)

    def get(self) -> float | None:
        value = cache.get(self.key)
        return None if value is None else float(value)


_GAUGES: dict[str, StoredGauge] = {}


class StoredGaugeCollector:
    def describe(self) -> Iterator[GaugeMetricFamily]:
        """Names only (the registry checks them for clashes): no Redis read at import time."""
        for gauge in list(_GAUGES.values()):
            yield GaugeMetricFamily(gauge.name, gauge.documentation)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauges = list(_GAUGES.values())
        try:
            values = cache.get_many([gauge.key for gauge in gauges])
        except Exception as error:  # Redis down: export the families without samples
            logger.warning("stored gauges: cannot read Redis: %r", error)
            values = {}
        for gauge in gauges:
            family = GaugeMetricFamily(gauge.name, gauge.documentation)
            if gauge.key in values:
                family.add_metric([], float(values[gauge.key]))
            yield family


COLLECTOR = StoredGaugeCollector()
REGISTRY.register(COLLECTOR)
