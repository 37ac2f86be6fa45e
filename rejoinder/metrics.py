"""The server's Prometheus metrics: one registry per context, and the few calls that feed it.

A registry of its own (never prometheus-client's global one) because a process may open several
contexts — tests open one per test — and each must count only its own server. Values that something
else already counts (the read cache's hits, the jobs table) are read at scrape time by collectors, so
the hot paths pay nothing for them.
"""

from __future__ import annotations

import logging
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from rejoinder.model import Comment, CommentStatus

if TYPE_CHECKING:
    from rejoinder.cache import ReadCache

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Comment reads answer in well under a millisecond from memory and in tens of milliseconds cold; writes
# take milliseconds (SQLite) to a few tens of milliseconds (PostgreSQL, spam filter).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The spam filter's action, as the status it gave the new comment (``discard`` also stores ``spam``).
ACTION_OF_STATUS = {
    CommentStatus.PUBLISHED: "publish",
    CommentStatus.PENDING: "hold",
    CommentStatus.SPAM: "spam",
}
JOB_STATUSES = ("queued", "running", "done", "dead")

Labels = tuple[str, str, int]  # method, route template, status (made a string only when scraped)


class Metrics:
    """Every series the server exports, declared once with help text."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        ProcessCollector(registry=registry)  # CPU seconds, memory, open files of this process
        self.requests = _RequestSeries()
        registry.register(self.requests)
        self.verdicts = Counter(
            "rejoinder_verdicts",
            "New comments by what the spam filter (or the site's moderation rule) did with them: "
            "publish, hold or spam (discarded comments count as spam).",
            ["action"],
            registry=registry,
        )
        self.sse_connections = Gauge(
            "rejoinder_sse_connections",
            "Server-Sent Events connections (live thread updates) open now.",
            registry=registry,
        )
        self.redis_up = Gauge(
            "rejoinder_redis_up",
            "1 while the last exchange with Redis succeeded, 0 after it failed (absent without Redis).",
            registry=registry,
        )
        self.redis_errors = Counter(
            "rejoinder_redis_errors",
            "Operations on Redis that failed (connection lost, timeout, error reply).",
            registry=registry,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.observe((method, route, status), seconds)

    def count_verdict(self, comment: Comment) -> None:
        self.verdicts.labels(ACTION_OF_STATUS.get(comment.status, str(comment.status))).inc()

    def watch_cache(self, cache: ReadCache) -> None:
        self.registry.register(_CacheCollector(cache))

    def watch_jobs(self, count_by_status: Callable[[], dict[str, int]]) -> None:
        self.registry.register(_JobsCollector(count_by_status))

    def exposition(self) -> bytes:
        """The current values in Prometheus' text format."""
        return generate_latest(self.registry)


class _RequestSeries(Collector):
    """Requests and their latency: one lock and three additions per request.

    Kept here rather than in a prometheus-client ``Counter`` and ``Histogram``, whose per-bucket locks and
    label lookups cost several microseconds on a read the cache answers in tens.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # label values -> [count per bucket (the last is +Inf), sum of seconds]
        self._series: dict[Labels, tuple[list[int], list[float]]] = {}

    def observe(self, labels: Labels, seconds: float) -> None:
        bucket = bisect_left(LATENCY_BUCKETS, seconds)
        with self._lock:
            series = self._series.get(labels)
            if series is None:
                series = self._series[labels] = ([0] * (len(LATENCY_BUCKETS) + 1), [0.0])
            series[0][bucket] += 1
            series[1][0] += seconds

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            taken = [(labels, list(counts), total[0]) for labels, (counts, total) in self._series.items()]
        names = ["method", "route", "status"]
        requests = CounterMetricFamily(
            "rejoinder_http_requests",
            "HTTP requests answered, by method, route template and status.",
            labels=names,
        )
        latency = HistogramMetricFamily(
            "rejoinder_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by method, route template and status.",
            labels=names,
        )
        bounds = [floatToGoString(bound) for bound in LATENCY_BUCKETS] + ["+Inf"]
        for (method, route, status), counts, total in taken:
            cumulative = list(accumulate(counts))
            values = [method, route, str(status)]
            requests.add_metric(values, cumulative[-1])
            latency.add_metric(values, list(zip(bounds, cumulative, strict=True)), total)
        yield requests
        yield latency


class _CacheCollector(Collector):
    def __init__(self, cache: ReadCache) -> None:
        self.cache = cache

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(
            "rejoinder_read_cache_lookups",
            "Lookups of finished thread responses in the read cache, by result (hit or miss).",
            labels=["result"],
        )
        family.add_metric(["hit"], self.cache.hits)
        family.add_metric(["miss"], self.cache.misses)
        yield family


class _JobsCollector(Collector):
    def __init__(self, count_by_status: Callable[[], dict[str, int]]) -> None:
        self.count_by_status = count_by_status

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "rejoinder_jobs", "Background jobs in the queue (the jobs table), by status.", labels=["status"]
        )
        up = GaugeMetricFamily(
            "rejoinder_jobs_scrape_ok", "1 when the jobs table could be counted at this scrape, 0 otherwise."
        )
        try:
            counts = self.count_by_status()
        except Exception:  # a scrape must still answer (and say so) when the database does not
            log.warning("could not count the jobs table for /metrics", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        for status in sorted({*JOB_STATUSES, *counts}):
            family.add_metric([status], counts.get(status, 0))
        up.add_metric([], 1)
        yield family
        yield up
