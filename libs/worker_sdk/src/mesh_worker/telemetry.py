"""Optional OpenTelemetry tracing: one server span per HTTP request, exported over OTLP/HTTP.

Off (no import of the OpenTelemetry SDK at all) unless ``WORKER_OTLP_ENDPOINT`` is set.
Incoming W3C ``traceparent`` headers are honoured, so a worker's spans join the
orchestrator's trace.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

log = logging.getLogger(__name__)


def make_tracer_provider(service_name: str, endpoint: str) -> TracerProvider:
    """A provider that batches spans to ``{endpoint}/v1/traces`` (OTLP over HTTP)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    url = endpoint.rstrip("/")
    if not url.endswith("/v1/traces"):
        url += "/v1/traces"
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    log.info("tracing to %s as %s", url, service_name)
    return provider


class TracingMiddleware:
    """ASGI middleware: a SERVER span per HTTP request while ``app.state.tracer`` is set.

    The lifespan sets the tracer when ``WORKER_OTLP_ENDPOINT`` is configured; otherwise
    requests pass straight through.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer: Tracer | None = None
        if scope["type"] == "http" and "app" in scope:
            tracer = getattr(scope["app"].state, "tracer", None)
        if tracer is None:
            await self.app(scope, receive, send)
            return
        from opentelemetry.propagate import extract
        from opentelemetry.trace import SpanKind, Status, StatusCode

        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        name = f"{scope['method']} {scope['path']}"
        with tracer.start_as_current_span(
            name, context=extract(carrier), kind=SpanKind.SERVER
        ) as span:
            span.set_attribute("http.request.method", scope["method"])
            span.set_attribute("url.path", scope["path"])

            async def traced_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status: Any = message["status"]
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            await self.app(scope, receive, traced_send)
