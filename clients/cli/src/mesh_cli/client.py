"""The ``mesh`` CLI's HTTP side: every request it makes, with errors turned into one line.

``MeshClient`` talks to the orchestrator (``url``) and to discovery (``discovery_url``).
Every failure surfaces as ``CliError`` whose message is one line fit for a terminal:
an unreachable service, a timeout, or a 4xx/5xx answer with the body's ``detail``.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncGenerator
from typing import Any
from urllib.parse import quote

import httpx
from httpx_sse import SSEError, aconnect_sse
from pydantic import ValidationError

from mesh_contracts import StreamEvent

STREAM_TIMEOUT = httpx.Timeout(connect=5.0, read=60.0, write=10.0, pool=5.0)
REQUEST_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class CliError(Exception):
    """A failure the CLI reports as one line (exit status 1)."""


class StreamLost(CliError):
    """An event stream broke after it had started; the run may still be going."""


def _detail_line(body: Any) -> str:
    """FastAPI's ``{"detail": ...}``, a 422 list included, flattened to one line."""
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(x) for x in item.get("loc", []) if x != "body")
                msg = str(item.get("msg", item)).removeprefix("Value error, ")
                parts.append(f"{loc}: {msg}" if loc else msg)
            else:
                parts.append(str(item))
        return "; ".join(parts)
    text = detail if isinstance(detail, str) else json.dumps(detail)
    return " ".join(text.split())


def _refusal(service: str, resp: httpx.Response, body: bytes) -> CliError:
    try:
        line = _detail_line(json.loads(body))
    except ValueError:
        line = " ".join(body.decode(errors="replace").split())[:300]
    return CliError(f"{service} answered {resp.status_code}: {line or resp.reason_phrase}")


def _transport(service: str, url: str, exc: httpx.TransportError) -> CliError:
    if isinstance(exc, httpx.ConnectError):
        return CliError(f"cannot reach {service} at {url} (is it running? {exc or 'refused'})")
    if isinstance(exc, httpx.TimeoutException):
        return CliError(f"{service} at {url} timed out ({type(exc).__name__})")
    return CliError(f"connection to {service} at {url} failed: {type(exc).__name__}: {exc}")


class MeshClient:
    """Async client of the orchestrator and discovery APIs used by the CLI commands.

    Use as ``async with MeshClient(url, discovery_url) as c``; the httpx client is closed
    on exit.
    """

    def __init__(
        self,
        url: str,
        discovery_url: str,
        token: str | None = None,
        *,
        verify: ssl.SSLContext | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.discovery_url = discovery_url.rstrip("/")
        # The bearer token goes to both services; httpx follows no redirect, so nowhere else.
        # ``verify``: under mTLS, the mesh's CA and this client's certificate.
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(
            timeout=REQUEST_TIMEOUT, headers=headers, verify=verify if verify is not None else True
        )

    async def __aenter__(self) -> MeshClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def _get_json(self, service: str, base: str, path: str, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        try:
            resp = await self._http.get(base + path, params=query)
        except httpx.TransportError as exc:
            raise _transport(service, base, exc) from None
        if resp.status_code >= 400:
            raise _refusal(service, resp, resp.content)
        try:
            return resp.json()
        except ValueError:
            raise CliError(f"{service} answered {path} with something that is not JSON") from None

    async def agents(self, capability: str | None = None, healthy: bool | None = None) -> Any:
        """Discovery's ``GET /v1/agents``: a list of AgentRecord JSON objects."""
        flag = None if healthy is None else str(healthy).lower()
        return await self._get_json(
            "discovery", self.discovery_url, "/v1/agents", capability=capability, healthy=flag
        )

    async def runs(self, limit: int) -> Any:
        return await self._get_json("orchestrator", self.url, "/v1/runs", limit=limit)

    async def run(self, run_id: str) -> Any:
        return await self._get_json("orchestrator", self.url, f"/v1/runs/{run_id}")

    async def thread(self, thread_id: str) -> Any:
        """``GET /v1/threads/{id}``: the thread with its runs, oldest first."""
        return await self._get_json("orchestrator", self.url, f"/v1/threads/{thread_id}")

    async def new_thread(self) -> str:
        """``POST /v1/threads``; returns the new thread's id."""
        try:
            resp = await self._http.post(f"{self.url}/v1/threads", json={})
        except httpx.TransportError as exc:
            raise _transport("orchestrator", self.url, exc) from None
        if resp.status_code >= 400:
            raise _refusal("orchestrator", resp, resp.content)
        return str(resp.json()["thread_id"])

    async def _send_json(self, method: str, path: str, body: Any = None) -> Any:
        """An orchestrator request with a JSON body; its JSON answer (None for 204)."""
        try:
            resp = await self._http.request(method, self.url + path, json=body)
        except httpx.TransportError as exc:
            raise _transport("orchestrator", self.url, exc) from None
        if resp.status_code >= 400:
            raise _refusal("orchestrator", resp, resp.content)
        if resp.status_code == 204:
            return None
        try:
            return resp.json()
        except ValueError:
            raise CliError(
                f"orchestrator answered {path} with something that is not JSON"
            ) from None

    async def pause(self, run_id: str, cancel_running: bool = False) -> str:
        """``POST /v1/runs/{id}/pause``; the status it answered (``pausing``)."""
        body = await self._send_json(
            "POST", f"/v1/runs/{quote(run_id, safe='')}/pause", {"cancel_running": cancel_running}
        )
        return str(body.get("status", ""))

    async def resume(self, run_id: str) -> str:
        """``POST /v1/runs/{id}/resume``; the status it answered (``running``)."""
        body = await self._send_json("POST", f"/v1/runs/{quote(run_id, safe='')}/resume")
        return str(body.get("status", ""))

    async def answer(self, run_id: str, task_id: str, answer: Any) -> str:
        """``POST /v1/runs/{id}/input``: answer the worker's question of ``task_id``."""
        body = await self._send_json(
            "POST",
            f"/v1/runs/{quote(run_id, safe='')}/input",
            {"task_id": task_id, "answer": answer},
        )
        return str(body.get("status", ""))

    async def workflows(self) -> Any:
        """``GET /v1/workflows``: the latest version of each saved workflow."""
        return await self._get_json("orchestrator", self.url, "/v1/workflows")

    async def workflow(self, name: str, version: int | None = None) -> Any:
        return await self._get_json(
            "orchestrator", self.url, f"/v1/workflows/{quote(name, safe='')}", version=version
        )

    async def save_workflow(self, spec: dict[str, Any]) -> Any:
        """``POST /v1/workflows``: the stored version (name, version, ...)."""
        return await self._send_json("POST", "/v1/workflows", spec)

    async def delete_workflow(self, name: str) -> None:
        await self._send_json("DELETE", f"/v1/workflows/{quote(name, safe='')}")

    async def start_workflow(self, name: str, body: dict[str, Any]) -> Any:
        """``POST /v1/workflows/{name}/runs``: ``{"run_id", "workflow", ...}``."""
        return await self._send_json("POST", f"/v1/workflows/{quote(name, safe='')}/runs", body)

    async def cancel(self, run_id: str) -> str:
        """``POST /v1/runs/{id}/cancel``; returns the status (``cancelling``, or ``finished``
        when the run ended first, which is not an error for a client that wanted it over)."""
        try:
            resp = await self._http.post(f"{self.url}/v1/runs/{run_id}/cancel")
        except httpx.TransportError as exc:
            raise _transport("orchestrator", self.url, exc) from None
        if resp.status_code == 409:
            return "finished"
        if resp.status_code >= 400:
            raise _refusal("orchestrator", resp, resp.content)
        return str(resp.json().get("status", "cancelling"))

    async def decide(self, run_id: str, approve: bool, decision: str | None = None) -> str:
        """``POST /v1/runs/{id}/approve`` (or ``/reject``) for a run awaiting approval;
        returns the status it answered (``running``, ``rejected``). ``decision`` (``rerun``
        or ``fail``): what becomes of the tasks in doubt of a run parked for them."""
        action = "approve" if approve else "reject"
        body = {"decision": decision} if approve and decision else None
        try:
            resp = await self._http.post(f"{self.url}/v1/runs/{run_id}/{action}", json=body)
        except httpx.TransportError as exc:
            raise _transport("orchestrator", self.url, exc) from None
        if resp.status_code >= 400:
            raise _refusal("orchestrator", resp, resp.content)
        return str(resp.json().get("status", ""))

    def orchestrate(self, body: dict[str, Any]) -> AsyncGenerator[StreamEvent, None]:
        """``POST /orchestrate/stream``: the run's events as they arrive, ending at ``done``."""
        return self._events("POST", f"{self.url}/orchestrate/stream", json=body)

    def follow(self, run_id: str, after: int = 0) -> AsyncGenerator[StreamEvent, None]:
        """``GET /v1/runs/{id}/events`` with ``Last-Event-ID: after``: replay, then live."""
        return self._events(
            "GET", f"{self.url}/v1/runs/{run_id}/events", headers={"Last-Event-ID": str(after)}
        )

    async def _events(self, method: str, url: str, **kw: Any) -> AsyncGenerator[StreamEvent, None]:
        started = False
        try:
            async with aconnect_sse(
                self._http, method, url, timeout=STREAM_TIMEOUT, **kw
            ) as source:
                resp = source.response
                if resp.status_code >= 400:
                    raise _refusal("orchestrator", resp, await resp.aread())
                started = True
                async for msg in source.aiter_sse():
                    if msg.data:  # a frame with no data (a bare ``id:`` or ``event:``) is no event
                        yield _event(msg.data)
        except SSEError as exc:  # before TransportError: httpx-sse derives it from that
            raise CliError(f"orchestrator answered {url} with no event stream: {exc}") from None
        except httpx.TransportError as exc:
            if started:
                raise StreamLost(f"lost the event stream from {self.url}: {exc!r}") from None
            raise _transport("orchestrator", self.url, exc) from None


def _event(data: str) -> StreamEvent:
    """One frame's data as a StreamEvent; anything else is a ``CliError`` (not a lost
    stream: resuming would only fetch the same frame again)."""
    try:
        return StreamEvent.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CliError(
            f"orchestrator sent a malformed event: {first['loc']}: {first['msg']}"
        ) from None
