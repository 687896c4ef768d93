"""The service's Prometheus metrics, defined once, and their exposition for `/metrics`.

Every process counts for itself. Under gunicorn with several workers (and a consumer on the
same host) set PROMETHEUS_MULTIPROC_DIR to an empty directory shared by them: prometheus-client
then keeps each process's values in files there, and any worker's `/metrics` reports the
sum. The variable must be set before the first import of prometheus-client, so set it in the
environment, never from code. Without it the process's own registry is reported.

Labels name kinds and purposes from small fixed sets, never a volunteer or a number.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

__all__ = ["BREAKER_OPEN", "CANDIDATE_SEARCH_SECONDS", "CONTENT_TYPE", "INTAKE_SECONDS",
           "REPLIES", "SMS_FAILED", "SMS_SENT", "exposition", "multiprocess"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
# Seconds, from a fraction of a millisecond (an index query) to the control room's patience.
FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
INTAKE_BUCKETS = (0.005, 0.01, 0.02, 0.04, 0.06, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

INTAKE_SECONDS = Histogram(
    "dispatcher_intake_seconds",
    "Time to answer a control room's signed event (POST /api/v1/events), wave 1 included.",
    buckets=INTAKE_BUCKETS,
)
CANDIDATE_SEARCH_SECONDS = Histogram(
    "dispatcher_candidate_search_seconds",
    "Time to find the volunteers for one wave: index search, eligibility and ranking.",
    buckets=FAST_BUCKETS,
)
SMS_SENT = Counter(
    "dispatcher_sms_sent",
    "Texts the SMS provider took, by purpose (alert, details, stand_down, ...).",
    ["purpose"],
)
SMS_FAILED = Counter(
    "dispatcher_sms_failed",
    "Texts that did not get through, by purpose and reason: the fault's kind (number, "
    "account, transient), held (every provider's breaker open) or adapter (a crash).",
    ["purpose", "reason"],
)
REPLIES = Counter(
    "dispatcher_replies",
    "Volunteers' texts acted on, by what they meant (accept, decline, stop, unknown, ...).",
    ["kind"],
)
BREAKER_OPEN = Gauge(
    "dispatcher_sms_breaker_open",
    "1 while a provider's circuit breaker is open in some live process (sends held or "
    "moved), else 0.",
    ["provider"],
    multiprocess_mode="livemax",
)


log = logging.getLogger(__name__)


def count(metric: Counter, *labels: str) -> None:
    """Add one to a counter; a failure to count never reaches the work being counted."""
    _safely(lambda: (metric.labels(*labels) if labels else metric).inc())


def set_to(metric: Gauge, value: float, *labels: str) -> None:
    """Set a gauge, as safely as `count`."""
    _safely(lambda: (metric.labels(*labels) if labels else metric).set(value))


def observe(metric: Histogram, value: float) -> None:
    """Record a duration, as safely as `count`."""
    _safely(lambda: metric.observe(value))


def _safely(update: Callable[[], object]) -> None:
    # A text about to go out, or a state being recorded, matters more than its metric.
    try:
        update()
    except Exception as exc:  # noqa: BLE001 - any failure of the metrics store is the same
        log.warning("a metric was not recorded (%s)", type(exc).__name__)


def multiprocess() -> bool:
    """Tell whether this process shares its metrics through PROMETHEUS_MULTIPROC_DIR."""
    return bool(os.environ.get(MULTIPROC_ENV))


class _Together:
    """Collectors reported as one registry."""

    def __init__(self, sources: Iterable[Collector]):
        self._sources = list(sources)

    def collect(self):
        """Yield every metric of every source."""
        for source in self._sources:
            yield from source.collect()


def exposition(*scraped: Collector) -> bytes:
    """Return the text format of every metric, with values read now by `scraped` collectors.

    In multiprocess mode the sum over the processes' files, else this process's registry.
    """
    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(_Together([registry, *scraped]))
