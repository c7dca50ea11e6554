"""Prometheus metrics: requests and their latency by route template, counted as they pass,
and at each scrape the service's own figures (`CollectMetrics`).

The middleware is on the path of every request, `/logs` first: it reads the clock twice,
notes the status as the response starts, and adds to plain numbers per (method, route);
they become Prometheus's counter and histogram only when scraped. About 1-2 µs a request
(ADR 0017 has the measure). It writes the request's access line too (`access.py`), having
its status and duration.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate
from time import perf_counter

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from domain.health.model import ServiceMetrics
from entrypoints.http.access import log_request

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds (seconds) of the latency histogram's buckets; a last one takes the rest."""


class _Route:
    """One (method, route) pair's latencies: plain numbers, updated from the event loop's
    one thread, so no lock (prometheus_client's own counter and histogram take one each:
    about 3 and 5 µs per request measured, against 0.5 µs for these)."""

    __slots__ = ("buckets", "count", "statuses", "total")

    def __init__(self) -> None:
        self.buckets = [0] * (len(BOUNDS) + 1)
        self.count = 0
        self.total = 0.0
        self.statuses: dict[int, int] = {}


CLIENT_LEFT = 499
"""The status counted and logged for a request answered to nobody (nginx's)."""

ROUTES: dict[tuple[str, str], _Route] = {}
"""This process's requests by (method, route template), whatever the number of apps in it."""


def record_requests(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        start = perf_counter()
        # Until a response starts: nginx's 499 if the application returns without one (its
        # client left, and the read was cancelled), 500 if it raised (uvicorn's answer then).
        status = CLIENT_LEFT

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, sending)
        except BaseException:
            if status == CLIENT_LEFT:
                status = 500
            raise
        finally:
            elapsed = perf_counter() - start
            key = (scope["method"], scope.get("path_template") or "")
            route = ROUTES.get(key)
            if route is None:
                route = ROUTES[key] = _Route()
            route.count += 1
            route.total += elapsed
            route.buckets[bisect_left(BOUNDS, elapsed)] += 1
            route.statuses[status] = route.statuses.get(status, 0) + 1
            log_request(scope, status, elapsed)

    return middleware


class _Requests(Collector):
    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        requests = CounterMetricFamily(
            "experiments_http_requests",
            "HTTP requests answered by this process, by method, route template and status",
            labels=["method", "route", "status"],
        )
        latency = HistogramMetricFamily(
            "experiments_http_request_duration_seconds",
            "Seconds from a request's start to the end of its response, by method and route "
            "template",
            labels=["method", "route"],
        )
        for (method, path), route in sorted(ROUTES.items()):
            for status, count in sorted(route.statuses.items()):
                requests.add_metric([method, path, str(status)], count)
            cumulative = list(accumulate(route.buckets))
            buckets = [(str(bound), cumulative[i]) for i, bound in enumerate(BOUNDS)]
            buckets.append(("+Inf", route.count))
            latency.add_metric([method, path], buckets, route.total)
        yield requests
        yield latency


class _Figures(Collector):
    def __init__(self, figures: ServiceMetrics) -> None:
        self._figures = figures

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        figures = self._figures
        if figures.jobs_by_status is not None:
            jobs = GaugeMetricFamily("experiments_jobs", "Jobs by status", labels=["status"])
            for status, count in sorted(figures.jobs_by_status.items()):
                jobs.add_metric([status], count)
            yield jobs
        if figures.queue_depth is not None:
            yield GaugeMetricFamily(
                "experiments_queue_depth",
                "Messages waiting in the broker's queue for a worker",
                value=figures.queue_depth,
            )
        if figures.lost_jobs is not None:
            yield CounterMetricFamily(
                "experiments_jobs_lost",
                "Jobs found lost (worker vanished, message gone), by every process",
                value=figures.lost_jobs,
            )
        if figures.republished_jobs is not None:
            yield CounterMetricFamily(
                "experiments_jobs_republished",
                "Jobs whose message was published again, by every process",
                value=figures.republished_jobs,
            )
        if figures.cache is not None:
            cache = figures.cache
            reads = CounterMetricFamily(
                "experiments_cache_reads",
                "Reads of a page of logs by this process, by how the cache served them",
                labels=["outcome"],
            )
            for outcome, count in (
                ("hit", cache.hits),
                ("miss", cache.misses),
                ("error", cache.errors),
                ("bypass", cache.bypasses),
                ("coalesced", cache.coalesced),
            ):
                reads.add_metric([outcome], count)
            yield reads
            yield CounterMetricFamily(
                "experiments_cache_circuit_openings",
                "Times the cache's circuit opened in this process",
                value=cache.openings,
            )
            yield GaugeMetricFamily(
                "experiments_cache_circuit_open",
                "1 while the cache's circuit is open in this process",
                value=int(cache.circuit_open),
            )


def exposition(figures: ServiceMetrics) -> bytes:
    """The text Prometheus scrapes: this process's requests, then the service's figures."""
    scrape = CollectorRegistry()
    scrape.register(_Requests())
    scrape.register(_Figures(figures))
    return generate_latest(scrape)
