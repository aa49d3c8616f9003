"""The SSE response of ``POST /stream``: frames out, client disconnect in.

Starlette's ``StreamingResponse`` only watches for a disconnect on ASGI servers older
than spec 2.4; newer ones report it as a failed ``send``, i.e. not until the next frame,
which for an idle generation may be a ping interval away. ``EventStreamResponse``
always listens, so a dropped connection cancels the worker's run within moments, and
always calls ``on_close`` once, however the response ends (even if it never started).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from mesh_contracts import SSE_HEADERS, SSE_MEDIA_TYPE


class EventStreamResponse(StreamingResponse):
    """``text/event-stream`` from an async iterator of encoded frames."""

    def __init__(
        self, frames: AsyncIterator[bytes], *, on_close: Callable[[], None] = lambda: None
    ) -> None:
        super().__init__(frames, media_type=SSE_MEDIA_TYPE, headers=SSE_HEADERS)
        self._frames = frames
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as tg:

                async def stream() -> None:
                    with contextlib.suppress(OSError):  # the client went away mid-send
                        await self.stream_response(send)
                    tg.cancel_scope.cancel()

                tg.start_soon(stream)
                await self.listen_for_disconnect(receive)
                tg.cancel_scope.cancel()
        finally:
            aclose = getattr(self._frames, "aclose", None)
            if aclose is not None:
                with anyio.CancelScope(shield=True):
                    await aclose()
            self._on_close()
