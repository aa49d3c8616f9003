"""A fake OTLP/HTTP collector for tests: decodes ``POST /v1/traces`` into plain spans.

```python
collector = OTLPCollector()
with collector.serving() as url:           # uvicorn on a free loopback port, in a thread
    ...                                    # services export to ``url``
    collector.wait_for(lambda spans: any(s.name == "run" for s in spans))
```

Never imported by a service. Needs ``opentelemetry-proto`` (a dependency of the OTLP
exporter) for the protobuf messages and, for ``serving``, the test kit (``mesh_testkit``).
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# SpanKind and StatusCode numbers of the OTLP protobuf (opentelemetry/proto/trace/v1).
KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUSES = {0: "unset", 1: "ok", 2: "error"}


@dataclass(frozen=True)
class CollectedSpan:
    """One exported span, ids as lower-case hex (``parent_span_id`` "" for a root)."""

    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: str
    status: str
    attributes: dict[str, Any] = field(default_factory=dict)
    links: tuple[tuple[str, str], ...] = ()  # (trace_id, span_id) of each link
    events: tuple[tuple[str, dict[str, Any]], ...] = ()  # (name, attributes), in order

    def events_named(self, name: str) -> list[dict[str, Any]]:
        """The attributes of each of this span's events called ``name``."""
        return [attrs for n, attrs in self.events if n == name]


def _value(v: Any) -> Any:
    which = v.WhichOneof("value")
    if which == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, which) if which else None


def decode(body: bytes) -> list[CollectedSpan]:
    """The spans of one ``ExportTraceServiceRequest`` (raises on a malformed body)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    out: list[CollectedSpan] = []
    for rs in request.resource_spans:
        resource = {a.key: _value(a.value) for a in rs.resource.attributes}
        service = str(resource.get("service.name", ""))
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(
                    CollectedSpan(
                        service=service,
                        name=s.name,
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_span_id=s.parent_span_id.hex(),
                        kind=KINDS.get(s.kind, str(s.kind)),
                        status=STATUSES.get(s.status.code, str(s.status.code)),
                        attributes={a.key: _value(a.value) for a in s.attributes},
                        links=tuple((ln.trace_id.hex(), ln.span_id.hex()) for ln in s.links),
                        events=tuple(
                            (e.name, {a.key: _value(a.value) for a in e.attributes})
                            for e in s.events
                        ),
                    )
                )
    return out


class OTLPCollector:
    """Keeps every span POSTed to ``/v1/traces`` (``app``); thread-safe to read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[CollectedSpan] = []
        self.app = Starlette(routes=[Route("/v1/traces", self._traces, methods=["POST"])])

    async def _traces(self, request: Request) -> Response:
        body = await request.body()
        encoding = request.headers.get("content-encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        try:
            spans = decode(body)
        except Exception as exc:  # a malformed body is the test's finding, not a crash
            return Response(f"malformed ExportTraceServiceRequest: {exc}", status_code=400)
        with self._lock:
            self._spans.extend(spans)
        return Response(b"", media_type="application/x-protobuf")

    @contextmanager
    def serving(self, *, timeout: float = 15.0) -> Iterator[str]:
        """Serve ``app`` on a free ``127.0.0.1`` port in a thread; yield its base URL (the
        OTLP endpoint to give a service); stop it on exit."""
        from mesh_testkit import serving  # the test kit's thread server; tests only

        with serving(self.app, timeout=timeout, name="otlp-collector") as url:
            yield url

    def spans(self) -> list[CollectedSpan]:
        with self._lock:
            return list(self._spans)

    def wait_for(
        self, predicate: Callable[[list[CollectedSpan]], bool], *, timeout: float = 15.0
    ) -> list[CollectedSpan]:
        """The spans once ``predicate(spans)`` holds; ``TimeoutError`` (listing what did
        arrive) at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans()
            if predicate(spans):
                return spans
            if time.monotonic() > deadline:
                seen = sorted({(s.service, s.name) for s in spans})
                raise TimeoutError(f"spans wanted within {timeout}s; got {seen}")
            time.sleep(0.05)
