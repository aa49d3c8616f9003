"""An SSE response that notices a client leaving at once, not at the next write.

Starlette's StreamingResponse only learns of a disconnect when a write fails (ASGI spec
2.4) — with a quiet worker that can be ten seconds later. This response listens for
``http.disconnect`` beside the writer and calls ``on_disconnect`` immediately, which is how
a client's departure cancels its run's workers within a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mesh_contracts import SSE_HEADERS, SSE_MEDIA_TYPE, encode_comment
from mesh_orchestrator.runs.mux import Subscription

PING = encode_comment("ping")


async def frames(
    sub: Subscription, every: float, on_end: Callable[[], None] = lambda: None
) -> AsyncIterator[bytes]:
    """The subscription's events as SSE frames, everything queued at once as one chunk (a
    reader that falls behind costs fewer writes; nothing waits to fill a batch), with a
    ``:ping`` comment after ``every`` idle seconds. Ends after the run's last event;
    ``on_end`` runs however it ends."""
    try:
        while (batch := await sub.take(every)) is not None:
            if not batch:
                yield PING
            elif len(batch) == 1:
                yield batch[0].frame()
            else:
                yield b"".join([e.frame() for e in batch])
    finally:
        on_end()


class SSEResponse(Response):
    media_type = SSE_MEDIA_TYPE

    def __init__(
        self,
        body: AsyncIterator[bytes],
        *,
        headers: Mapping[str, str] | None = None,
        on_disconnect: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(status_code=200, headers={**SSE_HEADERS, **(headers or {})})
        # An endless body has no length: drop the "content-length: 0" Response sets.
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.body_iter = body
        self.on_disconnect = on_disconnect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The body is written by this task; one listener task waits for the client to
        # leave, then calls ``on_disconnect`` and cancels the writing wherever it waits.
        # (One extra task per stream, not two and an ``asyncio.wait``: a response lives as
        # long as its run, a thousand of them at a time.)
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        writer = asyncio.current_task()
        assert writer is not None
        left = False

        async def listen() -> None:
            nonlocal left
            while (await receive())["type"] != "http.disconnect":
                pass
            left = True
            if self.on_disconnect is not None:
                self.on_disconnect()
            writer.cancel()

        listener = asyncio.ensure_future(listen())
        listener.add_done_callback(_retrieve)
        try:
            try:
                async for chunk in self.body_iter:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            finally:
                listener.cancel()
                aclose = getattr(self.body_iter, "aclose", None)
                if aclose is not None:
                    await aclose()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not left:
                raise
            writer.uncancel()  # our own cancellation, handled: the client left
        except OSError:
            pass  # the client went away mid-send


def _retrieve(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()
