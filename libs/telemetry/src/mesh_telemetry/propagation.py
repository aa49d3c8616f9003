"""W3C trace context on outgoing requests, so the callee's spans join the caller's trace."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.trace import Span


def traceparent_headers(span: Span) -> dict[str, str]:
    """The headers (``traceparent``, and ``tracestate`` when there is one) that make a
    request's server span a child of ``span``, per the process's propagators (W3C trace
    context by default, ``OTEL_PROPAGATORS`` otherwise)."""
    from opentelemetry.propagate import inject
    from opentelemetry.trace import set_span_in_context

    headers: dict[str, str] = {}
    inject(headers, context=set_span_in_context(span))
    return headers
