"""One call to one worker instance, as an async stream of validated worker events.

Whatever the worker's mode, the caller sees the same thing: events as they arrive, ending
with ``DoneEvent``. Streaming workers are read frame by frame from ``POST {stream_path}``
(nothing is buffered); static workers answer ``POST {invoke_path}`` with a WorkerResult,
turned into one ``ResultEvent``; declared static agents answer from ``static_response``
without any network call. Closing the generator closes the HTTP stream, which is how the
worker learns that its caller went away and cancels the generation.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import httpx
from pydantic import ValidationError

from mesh_contracts import (
    AgentDescriptor,
    DoneEvent,
    ErrorEvent,
    ResultEvent,
    StreamingMode,
    TaskRequest,
    WorkerEvent,
    WorkerResult,
    aiter_sse,
    parse_worker_event,
)

BUSY_STATUS = (429, 503)


class WorkerBusy(Exception):
    """The instance refused the call (429/503); try another replica or wait ``retry_after``."""

    def __init__(self, instance_id: str, retry_after: float) -> None:
        super().__init__(f"{instance_id} is busy (retry after {retry_after:g}s)")
        self.retry_after = retry_after


class WorkerUnreachable(Exception):
    """No connection could be made; nothing was sent, so another replica may be tried."""


class WorkerFailed(Exception):
    """The call failed after it started (bad status, malformed stream, connection lost)."""

    def __init__(self, message: str, code: str = "worker_error") -> None:
        super().__init__(message)
        self.code = code


def _retry_after(resp: httpx.Response) -> float:
    try:
        return max(0.0, float(resp.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


async def _refuse(resp: httpx.Response, d: AgentDescriptor) -> None:
    """Raise the right exception for a non-2xx answer."""
    if resp.status_code in BUSY_STATUS:
        raise WorkerBusy(d.instance_id, _retry_after(resp))
    body = (await resp.aread()).decode(errors="replace")[:500]
    try:
        detail: Any = json.loads(body).get("detail", body)
    except (ValueError, AttributeError):
        detail = body
    code = "invalid_input" if resp.status_code in (400, 422) else "worker_error"
    raise WorkerFailed(f"{d.agent_id} answered {resp.status_code}: {detail}", code)


async def call_worker(
    http: httpx.AsyncClient,
    d: AgentDescriptor,
    request: TaskRequest,
    on_accepted: Callable[[], None] = lambda: None,
) -> AsyncGenerator[WorkerEvent]:
    """Yield the worker's events for ``request``; the last one is always ``DoneEvent``.

    ``on_accepted`` is called once the worker has taken the call (2xx headers), before any
    event. Raises ``WorkerBusy``/``WorkerUnreachable`` before acceptance, ``WorkerFailed``
    at any point. A worker ``error`` event is yielded, not raised.
    """
    if not d.has_process:
        on_accepted()
        yield ResultEvent(output=d.static_response)
        yield DoneEvent()
        return
    body = request.model_dump(mode="json")
    if d.streaming_mode is StreamingMode.STATIC or d.stream_path is None:
        assert d.invoke_path is not None  # guaranteed by AgentDescriptor's validator
        async for event in _invoke(http, d, body, on_accepted):
            yield event
        return
    try:
        async with http.stream("POST", d.url(d.stream_path), json=body) as resp:
            if resp.status_code >= 300:
                await _refuse(resp, d)
            on_accepted()
            async for event in _read_stream(resp, d):
                yield event
                if isinstance(event, DoneEvent):
                    return
    except httpx.ConnectError as exc:
        raise WorkerUnreachable(f"cannot connect to {d.endpoint}: {exc}") from None
    except httpx.HTTPError as exc:
        raise WorkerFailed(
            f"{d.agent_id} stream broke off: {type(exc).__name__}: {exc}", "stream_lost"
        ) from None
    raise WorkerFailed(f"{d.agent_id} closed its stream without a done event", "stream_lost")


async def _read_stream(resp: httpx.Response, d: AgentDescriptor) -> AsyncIterator[WorkerEvent]:
    async for msg in aiter_sse(resp.aiter_bytes()):
        try:
            raw = msg.json()
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            yield parse_worker_event(raw)
        except (ValueError, ValidationError) as exc:
            raise WorkerFailed(
                f"{d.agent_id} sent a malformed event {msg.data[:200]!r}: {exc}".splitlines()[0],
                "malformed_stream",
            ) from None


async def _invoke(
    http: httpx.AsyncClient,
    d: AgentDescriptor,
    body: dict[str, Any],
    on_accepted: Callable[[], None],
) -> AsyncIterator[WorkerEvent]:
    assert d.invoke_path is not None
    try:
        resp = await http.post(d.url(d.invoke_path), json=body)
    except httpx.ConnectError as exc:
        raise WorkerUnreachable(f"cannot connect to {d.endpoint}: {exc}") from None
    except httpx.HTTPError as exc:
        raise WorkerFailed(f"{d.agent_id} call failed: {type(exc).__name__}: {exc}") from None
    if resp.status_code >= 300:
        await _refuse(resp, d)
    on_accepted()
    try:
        result = WorkerResult.model_validate(resp.json())
    except (ValueError, ValidationError) as exc:
        raise WorkerFailed(
            f"{d.agent_id} answered with a malformed result: {exc}".splitlines()[0],
            "malformed_result",
        ) from None
    if result.ok:
        for artifact in result.artifacts:
            yield artifact
        yield ResultEvent(output=result.output)
    else:
        yield ErrorEvent(error=result.error or f"{d.agent_id} failed", code="worker_error")
    yield DoneEvent()
