"""The spans of a run, when the orchestrator traces (``ORCH_OTLP_ENDPOINT`` is set).

One trace per run: a root ``run`` span, a child span per graph phase that does real work,
and one CLIENT span per call to a worker whose W3C ``traceparent`` travels in the request
(``tracing.spans``: ``RunTracer``). The lifespan builds a ``RunTracer`` when tracing is on
and hands ``NO_TRACER`` otherwise (``tracing.tracer``: the ``Tracer`` protocol and the
no-op): the runs, the graph and the executor hold a ``Tracer`` and never ask whether it
traces. Spans never go per token.
"""

from mesh_orchestrator.tracing.spans import PHASES, RunSpan, RunTracer, WorkerCall
from mesh_orchestrator.tracing.tracer import (
    NO_CALL,
    NO_SPAN,
    NO_TRACER,
    CallSpan,
    Candidates,
    NoCall,
    NoSpan,
    NoTracer,
    TracedRun,
    Tracer,
)

__all__ = [
    "NO_CALL",
    "NO_SPAN",
    "NO_TRACER",
    "PHASES",
    "CallSpan",
    "Candidates",
    "NoCall",
    "NoSpan",
    "NoTracer",
    "RunSpan",
    "RunTracer",
    "TracedRun",
    "Tracer",
    "WorkerCall",
]
