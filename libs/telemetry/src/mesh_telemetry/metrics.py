"""Prometheus metrics of one service: HTTP RED metrics per route and ``GET /metrics``.

```python
metrics = install_metrics(app)                  # in create_app: middleware + GET /metrics
metrics.gauge_of("mesh_live_runs", "...", lambda: [((), runs.live_count)])   # read at scrape
Counter("mesh_runs", "...", ["status"], registry=metrics.registry)            # own metrics
```

Every app has its own ``CollectorRegistry`` (never prometheus-client's global one), so
several apps in one process (tests) keep apart. The middleware is plain ASGI: it reads the
status from ``http.response.start`` and observes the latency once the response has ended
(a streamed response's whole length), so an SSE stream costs two metric operations however
many events it sends. Requests are labelled by the route template that matched
(``/v1/runs/{run_id}``, never the raw path), and unmatched paths share one label, so the
number of series stays bounded whatever clients send.

Values that already live in the service (a queue's length, a breaker's state) are read at
scrape time by ``gauge_of``/``counter_of`` instead of being copied on the hot path.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.responses import Response

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"  # the route label of a path no route serves (a 404)
# Seconds: from a fast JSON answer to a long stream.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

Samples = Callable[[], Iterable[tuple[Sequence[str], float]]]
Hook = Callable[[], Awaitable[None]]


class _Read(Collector):
    """One metric family whose samples ``read()`` gives at scrape time."""

    def __init__(
        self, kind: str, name: str, doc: str, labels: Sequence[str], read: Samples
    ) -> None:
        self.kind, self.name, self.doc, self.labels, self.read = kind, name, doc, labels, read

    def collect(self) -> Iterable[Metric]:
        family: GaugeMetricFamily | CounterMetricFamily
        if self.kind == "gauge":
            family = GaugeMetricFamily(self.name, self.doc, labels=self.labels)
        else:
            family = CounterMetricFamily(self.name, self.doc, labels=self.labels)
        for values, value in self.read():
            family.add_metric(list(values), value)
        yield family

    def describe(self) -> Iterable[Metric]:
        return []  # names unknown until collected: the registry does not check duplicates


class Metrics:
    """The registry of one app and its HTTP metrics (``mesh_http_requests_total`` by
    route, method and status; ``mesh_http_request_duration_seconds`` by route and
    method)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mesh_http_requests",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mesh_http_request_duration_seconds",
            "Time from request to the end of its response (a stream's whole length).",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._hooks: list[Hook] = []

    def gauge_of(self, name: str, doc: str, read: Samples, labels: Sequence[str] = ()) -> None:
        """A gauge whose samples ``read()`` returns at scrape time: (label values, value)."""
        self.registry.register(_Read("gauge", name, doc, labels, read))

    def counter_of(self, name: str, doc: str, read: Samples, labels: Sequence[str] = ()) -> None:
        """A counter kept elsewhere (a plain int that only grows), read at scrape time;
        ``name`` without ``_total``."""
        self.registry.register(_Read("counter", name, doc, labels, read))

    def before_scrape(self, hook: Hook) -> None:
        """``await hook()`` before each scrape (e.g. to read an async store into a gauge)."""
        self._hooks.append(hook)

    async def render(self) -> bytes:
        """The exposition text of every metric of this app."""
        for hook in self._hooks:
            await hook()
        return generate_latest(self.registry)


class MetricsMiddleware:
    """ASGI middleware counting and timing every HTTP request of the app (see module)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before the response started

        # A plain function returning ``send``'s awaitable: a streamed response's every body
        # message passes through here, and a coroutine of our own would add a frame to each.
        def sending(message: Message) -> Awaitable[None]:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            return send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = _route(scope)
            method = scope.get("method", "")
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route, method).observe(time.perf_counter() - started)


def _route(scope: Scope) -> str:
    """The template of the route that served the request (set in the scope by the router)."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def install_metrics(
    app: FastAPI, metrics: Metrics | None = None, *, dependencies: Sequence[Any] = ()
) -> Metrics:
    """Count ``app``'s requests and serve ``GET /metrics`` (Prometheus text format).
    Call it in ``create_app``, before the app serves; returns the app's ``Metrics``, also
    kept in ``app.state.metrics``. ``dependencies``: the route's (a token check)."""
    m = metrics or Metrics()
    app.state.metrics = m
    app.add_middleware(MetricsMiddleware, metrics=m)

    async def scrape() -> Response:
        return Response(await m.render(), media_type=CONTENT_TYPE_LATEST)

    # A FastAPI route, so the request is labelled ``/metrics`` like any other.
    app.add_api_route(
        "/metrics",
        scrape,
        methods=["GET"],
        include_in_schema=False,
        dependencies=list(dependencies),
    )
    return m
