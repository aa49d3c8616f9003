"""The tracer provider of one service: spans batched to an OTLP/HTTP collector.

Nothing here imports OpenTelemetry until a provider is made, so a service with no endpoint
configured pays nothing for tracing. The provider is never installed as the global one:
FastAPI traces every request itself once a global provider exists, which would double every
server span, and a library elsewhere in the process would export into this service's name.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

log = logging.getLogger(__name__)


def traces_url(endpoint: str) -> str:
    """``endpoint`` as the collector's traces URL: ``http://jaeger:4318`` becomes
    ``http://jaeger:4318/v1/traces``; a URL already ending in ``/v1/traces`` is kept."""
    url = endpoint.rstrip("/")
    return url if url.endswith("/v1/traces") else url + "/v1/traces"


def service_name(default: str) -> str:
    """``OTEL_SERVICE_NAME`` when set (compose and Kubernetes set it), else ``default``."""
    return os.environ.get("OTEL_SERVICE_NAME", "").strip() or default


def make_tracer_provider(
    name: str, endpoint: str | None = None, *, exporter: SpanExporter | None = None
) -> TracerProvider:
    """A provider for service ``name`` that batches spans to ``traces_url(endpoint)``.

    ``exporter`` replaces the OTLP exporter (tests pass an ``InMemorySpanExporter``; its
    spans are then exported synchronously, as they end). ``name`` is used as given: pass
    ``service_name(default)`` to honour ``OTEL_SERVICE_NAME``.
    """
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        return provider
    if not endpoint:
        raise ValueError("make_tracer_provider needs an endpoint or an exporter")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    url = traces_url(endpoint)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    log.info("tracing to %s as %s", url, name)
    return provider


class Tracing:
    """One service's tracing: its provider and the tracer its code starts spans with.

    Made by ``start_tracing`` in a lifespan and ended there by ``shutdown``, which exports
    the spans still batched (a process killed without it loses up to the last few seconds
    of spans).
    """

    def __init__(self, provider: TracerProvider, instrumentation: str) -> None:
        self.provider = provider
        self.tracer: Tracer = provider.get_tracer(instrumentation)

    async def shutdown(self) -> None:
        """Flush and stop the exporter, off the event loop (the export is a blocking POST)."""
        await asyncio.to_thread(self.provider.shutdown)


def start_tracing(
    default_name: str,
    endpoint: str | None,
    *,
    instrumentation: str = "mesh",
    exporter: SpanExporter | None = None,
) -> Tracing | None:
    """Tracing for a service, or None (and no OpenTelemetry import) when neither an
    ``endpoint`` nor an ``exporter`` is given. The service is named by ``OTEL_SERVICE_NAME``
    when set, else ``default_name``."""
    if not endpoint and exporter is None:
        return None
    provider = make_tracer_provider(service_name(default_name), endpoint, exporter=exporter)
    return Tracing(provider, instrumentation)
