"""A tracer provider for an app whose real provider is made later, in its lifespan.

``create_app`` instruments the app before the lifespan has started tracing, so the FastAPI
instrumentation is given ``StateTracerProvider(app.state)``: its tracer looks up
``app.state.tracer`` (set by the lifespan while tracing runs) each time a span starts, and
makes no-op spans while that is None. Imported only once tracing is on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.context import Context
from opentelemetry.trace import (
    NoOpTracer,
    Span,
    SpanKind,
    Tracer,
    TracerProvider,
)
from opentelemetry.util import types

_NOOP = NoOpTracer()


class StateTracer(Tracer):
    """Starts spans with ``state.tracer``, or no-op spans while that is None."""

    def __init__(self, state: Any) -> None:
        self._state = state

    def _tracer(self) -> Tracer:
        tracer: Tracer | None = getattr(self._state, "tracer", None)
        return tracer if tracer is not None else _NOOP

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Any = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span:
        return self._tracer().start_span(
            name,
            context=context,
            kind=kind,
            attributes=attributes,
            links=links,
            start_time=start_time,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        )

    # The API's return type names its private context-manager class; callers only use
    # ``with``, which contextlib's gives them alike.
    @contextmanager
    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Any = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[Span]:
        with self._tracer().start_as_current_span(
            name,
            context=context,
            kind=kind,
            attributes=attributes,
            links=links,
            start_time=start_time,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
            end_on_exit=end_on_exit,
        ) as span:
            yield span


class StateTracerProvider(TracerProvider):
    """Hands out ``StateTracer(state)`` whatever the instrumentation asks for: spans carry
    the service's own instrumentation scope (e.g. ``mesh_worker``), as they always have."""

    def __init__(self, state: Any) -> None:
        self._state = state

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: types.Attributes = None,
    ) -> Tracer:
        return StateTracer(self._state)
