"""The orchestrator's SSE responses: sse-starlette's ``EventSourceResponse`` over a run's
subscription.

sse-starlette sends the ``:ping`` comments while a run is quiet, notices a client leaving
at once (it listens for ``http.disconnect`` beside the writer, not only when a write fails),
and ends the stream on server shutdown. The frames themselves are encoded once by the
multiplexer's ``RelayedEvent.frame`` and passed through as bytes: everything a subscription
has queued goes out as one chunk, so a reader that falls behind costs fewer writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Message

from mesh_orchestrator.runs.replay import Feed

# Frames end in "\n\n", the separator every decoder of ours takes on its fast path.
SEP = "\n"


# What a reader that fell too far behind gets before its stream ends (no ``done``): a
# browser's EventSource reconnects by itself a second later with Last-Event-ID.
SLOW_READER = b"retry: 1000\n: this reader fell behind: resume with Last-Event-ID\n\n"


async def frames(sub: Feed, on_end: Callable[[], None]) -> AsyncIterator[bytes]:
    """The subscription's events as SSE frames until the run's last event; ``on_end``
    runs however it ends (the run finished, the client left, the server stopped)."""
    try:
        while (batch := await sub.take()) is not None:
            if len(batch) == 1:
                yield batch[0].frame()
            elif batch:
                yield b"".join([e.frame() for e in batch])
        if sub.overflowed:
            yield SLOW_READER
    finally:
        on_end()


def _ping() -> ServerSentEvent:
    return ServerSentEvent(comment="ping", sep=SEP)


def event_stream(
    body: AsyncIterator[bytes],
    *,
    ping_seconds: float,
    headers: Mapping[str, str] | None = None,
    on_disconnect: Callable[[], None] | None = None,
) -> EventSourceResponse:
    """``body`` as an SSE response; ``on_disconnect`` runs as soon as the client leaves."""
    closed: Callable[[Message], Awaitable[None]] | None = None
    if on_disconnect is not None:
        leave = on_disconnect

        async def left(_: Message) -> None:
            leave()

        closed = left
    return EventSourceResponse(
        body,
        headers=dict(headers or {}),
        ping=ping_seconds,
        ping_message_factory=_ping,
        sep=SEP,
        client_close_handler_callable=closed,
    )
