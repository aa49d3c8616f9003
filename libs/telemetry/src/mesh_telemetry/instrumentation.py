"""Spans from OpenTelemetry's own instrumentations, with each service's provider.

- ``instrument_app``: one SERVER span per HTTP request (the FastAPI instrumentation),
  named ``"{method} {route}"`` (``"POST /stream"``, ``"GET /v1/runs/{run_id}"``) and a child
  of the caller's span when the request carries a W3C ``traceparent``.
- ``instrument_client``: one CLIENT span per request of an httpx client, whose
  ``traceparent`` makes the callee's server span its child. For cold-path clients only
  (registration, heartbeats); the orchestrator's relay makes its own worker-call spans.

The provider is never the global one (see ``provider``); attributes follow OpenTelemetry's
stable HTTP conventions (``http.request.method``, ``url.path``, ``http.route``,
``http.response.status_code``), and no metrics are recorded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

    from mesh_telemetry.provider import Tracing

_OPT_IN = "OTEL_SEMCONV_STABILITY_OPT_IN"


def _stable_http_conventions() -> None:
    """Opt in to the stable HTTP attribute names, which the instrumentations otherwise
    replace by their pre-1.0 ones (``http.status_code``, ``http.target``). The
    instrumentations read this once per process, when the first of them is set up."""
    modes = [m.strip() for m in os.environ.get(_OPT_IN, "").split(",") if m.strip()]
    if not {"http", "http/dup"} & set(modes):
        os.environ[_OPT_IN] = ",".join([*modes, "http"])


def instrument_app(
    app: FastAPI, *, enabled: bool, exclude_paths: Collection[str] = ("/health",)
) -> None:
    """Trace ``app``'s requests with the tracer its lifespan keeps in ``app.state.tracer``.

    Called by ``create_app``, before the lifespan has started tracing: spans start with
    whatever ``app.state.tracer`` holds when the request comes (no-op spans while it is
    None). ``enabled`` says whether the service will trace at all (its settings name an
    OTLP endpoint or an exporter); when False nothing is installed and no OpenTelemetry
    module is imported. A span covers the whole response, a streamed one included, and no
    span is made per ASGI message (the relay's SSE stream sends one per event). A 5xx answer
    or an exception marks it as an error. ``exclude_paths`` (health probes) are not traced.
    """
    if not enabled:
        return
    _stable_http_conventions()
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.metrics import NoOpMeterProvider

    from mesh_telemetry.late_tracer import StateTracerProvider

    # The instrumentation matches these regexes against the full URL, query excluded.
    excluded = ",".join(rf"^[a-z]+://[^/]+{re.escape(p)}$" for p in exclude_paths)
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=StateTracerProvider(app.state),
        meter_provider=NoOpMeterProvider(),
        excluded_urls=excluded,
        exclude_spans=["send", "receive"],
    )


def instrument_client(client: httpx.AsyncClient, tracing: Tracing | None) -> None:
    """A CLIENT span per request ``client`` sends, with ``tracing``'s provider, and the
    ``traceparent`` that makes the callee's server span its child. Nothing when ``tracing``
    is None. Call it where the client is made (the lifespan, after ``start_tracing``)."""
    if tracing is None:
        return
    _stable_http_conventions()
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.metrics import NoOpMeterProvider

    HTTPXClientInstrumentor.instrument_client(
        client, tracer_provider=tracing.provider, meter_provider=NoOpMeterProvider()
    )
