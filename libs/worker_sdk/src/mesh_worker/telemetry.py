"""Optional OpenTelemetry tracing of a worker: one SERVER span per HTTP request (OpenTelemetry's
FastAPI instrumentation) and a CLIENT span per registration or heartbeat call (its httpx one).

The implementation is the shared ``mesh_telemetry`` library; these names are re-exported
for code written against the SDK. Tracing is on when ``WORKER_OTLP_ENDPOINT`` is set
(nothing is instrumented otherwise); an incoming W3C ``traceparent`` makes a request's span
a child of the caller's (the orchestrator's sub-task span), so one run is one trace.
"""

from __future__ import annotations

from mesh_telemetry import (
    Tracing,
    instrument_app,
    instrument_client,
    make_tracer_provider,
    start_tracing,
)

__all__ = [
    "Tracing",
    "instrument_app",
    "instrument_client",
    "make_tracer_provider",
    "start_tracing",
]
