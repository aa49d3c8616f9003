"""Optional OpenTelemetry tracing shared by the mesh's services (worker SDK, discovery,
orchestrator): spans exported over OTLP/HTTP, one SERVER span per request (OpenTelemetry's
FastAPI instrumentation), W3C ``traceparent`` on outgoing calls.

Importing this package imports no OpenTelemetry module; that happens only once tracing is
on (``start_tracing`` given an endpoint or an exporter, ``instrument_app(enabled=True)``), so
an untraced service pays nothing.

```python
instrument_app(app, enabled=bool(settings.otlp_endpoint))      # in create_app
...
tracing = start_tracing("discovery", settings.otlp_endpoint)  # in the lifespan; None when unset
app.state.tracer = tracing.tracer if tracing else None         # what the request spans use
...
await tracing.shutdown()                                       # in the lifespan's exit
```
"""

from mesh_telemetry.instrumentation import instrument_app, instrument_client
from mesh_telemetry.propagation import traceparent_headers
from mesh_telemetry.provider import (
    Tracing,
    make_tracer_provider,
    service_name,
    start_tracing,
    traces_url,
)

__all__ = [
    "Tracing",
    "start_tracing",
    "make_tracer_provider",
    "service_name",
    "traces_url",
    "instrument_app",
    "instrument_client",
    "traceparent_headers",
]
