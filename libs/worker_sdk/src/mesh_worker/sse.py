"""The SSE responses a worker sends: sse-starlette's ``EventSourceResponse``, set up once.

Used by ``POST /stream`` and by workers' own streaming routes (the writer's OpenAI API).
Frames go out as the caller encoded them (``mesh_contracts.encode_event``: ``data:`` lines
of JSON), so the wire format is the SDK's; sse-starlette adds what a long-lived stream needs:

- a ``: ping`` comment every ``ping_seconds`` (``WORKER_PING_SECONDS``), so proxies and
  the orchestrator's idle timeout see a quiet stream (a long prefill, a model step) alive;
- a listener for the client's disconnect that cancels the frame iterator at once, even
  while it waits for the worker's next event (a cancelled iterator cancels the run);
- on SIGTERM, ``shutdown_grace_seconds`` for open streams to end before they are cancelled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask

from mesh_contracts import SSE_HEADERS, SSE_MEDIA_TYPE


def _ping() -> ServerSentEvent:
    return ServerSentEvent(comment="ping", sep="\n")


def event_stream(
    frames: AsyncIterator[bytes],
    *,
    ping_seconds: float,
    on_close: Callable[[], None] | None = None,
    shutdown_grace_seconds: float = 0.0,
) -> EventSourceResponse:
    """A ``text/event-stream`` response of ``frames`` (encoded SSE frames).

    ``on_close`` runs once the response has ended, however it ended (its last frame sent,
    the client gone); ``frames`` should also release what it holds in a ``finally``, since
    a response cancelled from outside (server shutdown) skips ``on_close``.
    """
    return EventSourceResponse(
        frames,
        headers=SSE_HEADERS,
        media_type=SSE_MEDIA_TYPE,
        ping=ping_seconds,
        sep="\n",
        ping_message_factory=_ping,
        background=BackgroundTask(on_close) if on_close is not None else None,
        shutdown_grace_period=shutdown_grace_seconds,
    )
