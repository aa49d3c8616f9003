"""An SSE response that notices a client leaving at once, not at the next write.

Starlette's StreamingResponse only learns of a disconnect when a write fails (ASGI spec
2.4) — with a quiet worker that can be ten seconds later. This response listens for
``http.disconnect`` beside the writer and calls ``on_disconnect`` immediately, which is how
a client's departure cancels its run's workers within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mesh_contracts import SSE_HEADERS, SSE_MEDIA_TYPE, StreamEvent, encode_comment, encode_event


def frame(e: StreamEvent) -> bytes:
    return encode_event(e.model_dump_json(), id=e.seq)


async def with_pings(events: AsyncIterator[StreamEvent], every: float) -> AsyncIterator[bytes]:
    """Frames of ``events``, with a ``:ping`` comment after ``every`` idle seconds."""
    it = aiter(events)
    pending: asyncio.Task[StreamEvent] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(it))
            done, _ = await asyncio.wait({pending}, timeout=every)
            if not done:
                yield encode_comment("ping")
                continue
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield frame(event)
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
        aclose = getattr(it, "aclose", None)
        if aclose is not None:
            await aclose()


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
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        writer = asyncio.ensure_future(self._write(send))
        listener = asyncio.ensure_future(self._listen(receive))
        try:
            done, _ = await asyncio.wait({writer, listener}, return_when=asyncio.FIRST_COMPLETED)
            if listener in done and not writer.done():
                if self.on_disconnect is not None:
                    self.on_disconnect()
                writer.cancel()
        finally:
            for t in (writer, listener):
                t.cancel()
            for t in (writer, listener):
                with contextlib.suppress(asyncio.CancelledError, OSError):
                    await t
        if writer.done() and not writer.cancelled() and writer.exception() is None:
            with contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _write(self, send: Send) -> None:
        try:
            async for chunk in self.body_iter:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            aclose = getattr(self.body_iter, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _listen(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
