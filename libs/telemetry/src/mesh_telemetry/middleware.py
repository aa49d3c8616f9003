"""ASGI middleware: one SERVER span per HTTP request, joining the caller's W3C trace."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer


class TracingMiddleware:
    """A SERVER span per HTTP request while ``app.state.tracer`` is set (the lifespan sets
    it when tracing is configured); otherwise requests pass straight through, untouched.

    An incoming ``traceparent`` header makes the span a child of the caller's span. The
    span is named ``"{method} {route}"`` (``/v1/runs/{run_id}``, not each run's own path)
    once routing has matched, and ends when the response body does, so a streamed answer's
    span covers the whole stream. A 5xx answer or an exception marks it as an error.
    Requests to ``exclude_paths`` (health probes, every few seconds) are not traced.
    """

    def __init__(self, app: ASGIApp, exclude_paths: Collection[str] = ("/health",)) -> None:
        self.app = app
        self.exclude_paths = frozenset(exclude_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer: Tracer | None = None
        if scope["type"] == "http" and "app" in scope:
            tracer = getattr(scope["app"].state, "tracer", None)
        if tracer is None or scope["path"] in self.exclude_paths:
            await self.app(scope, receive, send)
            return
        from opentelemetry.propagate import extract
        from opentelemetry.trace import SpanKind, Status, StatusCode

        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"], scope["path"]
        with tracer.start_as_current_span(
            f"{method} {path}", context=extract(carrier), kind=SpanKind.SERVER
        ) as span:
            span.set_attribute("http.request.method", method)
            span.set_attribute("url.path", path)

            async def traced_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status: Any = message["status"]
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
                await send(message)

            try:
                await self.app(scope, receive, traced_send)
            finally:
                # Routing has filled in the matched route by now (the scope is shared).
                route = getattr(scope.get("route"), "path", None)
                if isinstance(route, str):
                    span.set_attribute("http.route", route)
                    span.update_name(f"{method} {route}")
