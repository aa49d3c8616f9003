"""Answers that wait (``POST /orchestrate``, a ``stream: false`` chat completion) and a client
that leaves first.

Starlette does not cancel a handler whose client has gone; ``unless_gone`` races the work
against the request's ``http.disconnect`` (once the body is read, the next ASGI message a
request gets) and cancels the work when the client leaves first, so the caller can cancel
the run as a stream's departure would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

from starlette.requests import Request

T = TypeVar("T")

# nginx's "client closed request": what the HTTP metrics count for an answer nobody read.
CLIENT_CLOSED = 499


class ClientGone(Exception):
    """The client closed its connection before the answer was ready."""


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def unless_gone(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """``work``'s result; ``ClientGone`` (``work`` cancelled and awaited) when the client
    left first."""
    job = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({job, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not job.done():
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job
    if job.cancelled():
        raise ClientGone
    return job.result()
