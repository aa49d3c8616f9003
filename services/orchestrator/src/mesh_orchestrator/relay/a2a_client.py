"""One call to an external A2A agent, as the same ``(type, body)`` worker events as
``call_worker`` yields for a mesh worker.

An A2A descriptor (``mesh_contracts.a2a.speaks_a2a``: discovery registered it from its card)
names the agent's JSON-RPC URL and protocol version in its metadata. The sub-task goes out
as one A2A message (its prompt as a text part, the whole input and the upstream context as a
data part, ``contextId`` = the run id) over ``SendStreamingMessage`` (``message/stream`` for
a v0.3 agent), or ``SendMessage`` for an agent that does not stream; the a2a-sdk's JSON-RPC
transport speaks the wire, over the executor's A2A client: an httpx client that carries no
mesh token and dials only addresses the endpoint policy checked at connect time
(``mesh_auth.dialing``). The agent's own credentials, if configured, go as its card asks
(``a2a_credentials``); the orchestrator's token never goes to an external agent.

What comes back is relayed as it arrives: a text part of an artifact update is a ``token``,
a data part a ``result``, a file part an ``artifact``; a working task's status message is
``progress`` (commentary), a completed task's or a direct reply's text a ``message``; a
failed, rejected or cancelled task is an ``error``; ``auth-required`` is an ``error``.

``input-required`` maps onto the mesh's own ``input_required`` both ways: the agent's
question goes to the user (the run parks), with ``resume`` naming the agent's waiting task
(``taskId``, ``contextId``, the agent); the task is left waiting, not cancelled. Once the
user answered, the call is made again with ``context["@input"]`` (the answers, and that
``resume``): it continues THE SAME A2A task, sending the last answer as a message with the
agent's ``taskId`` and ``contextId`` (text as a text part, anything else as a data part
``{"answer": ...}``), and relays the task from there. (Another agent than the one asked:
a new message, the answers in its data part.)

The call ends with ``done`` once the agent's task reaches a terminal state. If the call ends
before that (the run was cancelled, the stream broke off, the deadline passed) the agent's
task is cancelled with ``CancelTask``: closing the stream alone does not stop an A2A agent.
A task left waiting for the user's answer whose run is then cancelled gets its
``CancelTask`` later, from ``cancel_a2a`` (``runs.withdrawal``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import httpx
from a2a.client import A2AClientError, A2AClientTimeoutError, ClientCallContext
from a2a.client.transports.base import ClientTransport
from a2a.client.transports.jsonrpc import JsonRpcTransport
from a2a.types.a2a_pb2 import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    Artifact,
    CancelTaskRequest,
    Message,
    SendMessageRequest,
    StreamResponse,
    TaskState,
)
from a2a.utils.errors import A2AError, InvalidParamsError
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from pydantic import ValidationError

from mesh_contracts import AgentDescriptor, ArtifactEvent, StreamingMode, TaskRequest
from mesh_contracts.a2a import (
    A2A_PROTOCOL_VERSION,
    A2A_SECURITY_REQUIREMENTS,
    A2A_SECURITY_SCHEMES,
    A2A_URL,
    A2A_VERSION,
)
from mesh_orchestrator.relay.a2a_credentials import A2ACredentials
from mesh_orchestrator.relay.worker_client import (
    BUSY_STATUS,
    Relayable,
    WorkerBusy,
    WorkerFailed,
    WorkerUnreachable,
    next_or_stall,
)

log = logging.getLogger(__name__)
CANCEL_TIMEOUT = 5.0  # seconds a CancelTask may take on the way out
_FAILED = {
    TaskState.TASK_STATE_FAILED: "failed",
    TaskState.TASK_STATE_REJECTED: "rejected",
    TaskState.TASK_STATE_CANCELED: "cancelled",
}
_ASKS = {
    TaskState.TASK_STATE_INPUT_REQUIRED: "input",
    TaskState.TASK_STATE_AUTH_REQUIRED: "authentication",
}
INPUT_CONTEXT = "@input"  # the answers to a task's questions (``relay.executor``'s key)
_cancels: set[asyncio.Task[None]] = set()  # CancelTask calls outliving their stream


class _Agent:
    """What a call needs to know of the agent: its card (as discovery kept it), URL, version."""

    def __init__(self, d: AgentDescriptor) -> None:
        self.url = str(d.metadata.get(A2A_URL) or d.url(d.stream_path or "/"))
        self.version = str(d.metadata.get(A2A_VERSION) or A2A_PROTOCOL_VERSION)
        self.card = AgentCard(
            name=d.name,
            supported_interfaces=[
                AgentInterface(
                    url=self.url, protocol_binding="JSONRPC", protocol_version=self.version
                )
            ],
            capabilities=AgentCapabilities(streaming=d.streaming_mode is not StreamingMode.STATIC),
        )
        security = {
            "securitySchemes": d.metadata.get(A2A_SECURITY_SCHEMES) or {},
            "securityRequirements": d.metadata.get(A2A_SECURITY_REQUIREMENTS) or [],
        }
        try:
            ParseDict(security, self.card, ignore_unknown_fields=True)
        except (ParseError, TypeError, ValueError):
            log.warning("A2A agent %s: its card's security schemes do not parse", d.agent_id)

    def transport(self, http: httpx.AsyncClient) -> ClientTransport:
        if self.version.startswith("0."):
            from a2a.compat.v0_3.jsonrpc_transport import CompatJsonRpcTransport

            return CompatJsonRpcTransport(http, self.card, self.url, is_shared_httpx=True)
        return JsonRpcTransport(http, self.card, self.url, is_shared_httpx=True)


def a2a_message(request: TaskRequest, agent_id: str | None = None) -> Message:
    """The sub-task as one A2A user message: a new task's, or (``agent_id`` asked and
    ``context["@input"]`` names its waiting task) the answer continuing that task."""
    continued = _continuing(request, agent_id)
    if continued is not None:
        return continued
    inp = request.input
    text = next((inp[k] for k in ("prompt", "query", "text") if isinstance(inp.get(k), str)), None)
    parts: list[dict[str, Any]] = [{"text": text}] if text else []
    if not text or set(inp) - {"prompt"} or request.context:
        parts.append(
            {"data": {"input": inp, "context": request.context}, "mediaType": "application/json"}
        )
    body = {
        "messageId": uuid.uuid4().hex,
        "role": "ROLE_USER",
        "parts": parts,
        "metadata": {"mesh": {"runId": request.run_id, "taskId": request.task_id}},
    }
    if request.run_id:
        body["contextId"] = request.run_id
    msg = Message()
    ParseDict(body, msg)
    return msg


def _continuing(request: TaskRequest, agent_id: str | None) -> Message | None:
    """The message answering ``agent_id``'s waiting task, if the request continues one."""
    asked = request.context.get(INPUT_CONTEXT)
    if not isinstance(asked, dict) or agent_id is None:
        return None
    resume, answers = asked.get("resume"), asked.get("answers")
    if not isinstance(resume, dict) or resume.get("agent") != agent_id or not answers:
        return None
    task_id, context_id = resume.get("taskId"), resume.get("contextId")
    if not isinstance(task_id, str) or not task_id:
        return None
    answer = answers[-1]
    part = {"text": answer} if isinstance(answer, str) else {"data": {"answer": answer}}
    body: dict[str, Any] = {
        "messageId": uuid.uuid4().hex,
        "role": "ROLE_USER",
        "taskId": task_id,
        "parts": [part],
        "metadata": {"mesh": {"runId": request.run_id, "taskId": request.task_id}},
    }
    if isinstance(context_id, str) and context_id:
        body["contextId"] = context_id
    msg = Message()
    ParseDict(body, msg)
    return msg


def _part_events(parts: Any, name: str) -> list[Relayable]:
    out: list[Relayable] = []
    for p in parts:
        kind = p.WhichOneof("content")
        if kind == "text":
            if p.text:
                out.append(("token", {"token": p.text}))
        elif kind == "data":
            out.append(("result", {"output": MessageToDict(p.data)}))
        elif kind in ("url", "raw"):
            art: dict[str, Any] = {
                "name": p.filename or name,
                "content_type": p.media_type or "application/octet-stream",
            }
            if kind == "url":
                art["url"] = p.url
            else:
                art["data_base64"] = base64.b64encode(p.raw).decode()
                art["size_bytes"] = len(p.raw)
            try:  # the contract a worker's artifact meets (no javascript: URL, ...)
                ArtifactEvent.model_validate(art)
            except ValidationError as exc:
                first = exc.errors()[0]["msg"]
                raise WorkerFailed(
                    f"sent a malformed artifact: {first}"[:300], "malformed_stream"
                ) from None
            out.append(("artifact", art))
    return out


def _text(m: Message) -> str:
    return "".join(p.text for p in m.parts if p.WhichOneof("content") == "text")


class _Call:
    """What one call has learnt so far: the agent's task id and whether it ended."""

    def __init__(self, d: AgentDescriptor) -> None:
        self.d = d
        self.task_id: str | None = None
        self.context_id: str | None = None
        self.ended = False
        # Continuing a waiting task: its first snapshot may still show the question we
        # answered (the answer not taken up yet), which is not asked again.
        self.continuing = False

    def _status(self, state: TaskState, message: Message | None) -> list[Relayable]:
        text = _text(message) if message is not None else ""
        if state == TaskState.TASK_STATE_COMPLETED:
            self.ended = True
            return [("message", {"role": "assistant", "content": text})] if text else []
        if state in _FAILED:
            self.ended = True
            why = text or f"the A2A task was {_FAILED[state]}"
            return [("error", {"error": f"{self.d.agent_id}: {why}", "code": "worker_error"})]
        if state == TaskState.TASK_STATE_INPUT_REQUIRED:  # the user is asked (the run parks)
            question = text or f"{self.d.agent_id} asks for input"
            asked: dict[str, Any] = {"question": question[:2000]}
            if self.task_id:  # the answer continues this task
                asked["resume"] = {"agent": self.d.agent_id, "taskId": self.task_id}
                if self.context_id:
                    asked["resume"]["contextId"] = self.context_id
            return [("input_required", asked)]
        if state in _ASKS:  # authentication cannot be given mid-run: a failure (and cancelled)
            why = f"{self.d.agent_id} asks for {_ASKS[state]}" + (f": {text}" if text else "")
            return [("error", {"error": why, "code": "input_required"})]
        # A working task's status message is commentary, not output: progress.
        return [("progress", {"message": text})] if text else []

    def _artifact(self, a: Artifact) -> list[Relayable]:
        return _part_events(a.parts, a.name or a.artifact_id)

    def events(self, r: StreamResponse) -> list[Relayable]:
        """One A2A stream response as worker events."""
        kind = r.WhichOneof("payload")
        if kind == "task":
            self.task_id = r.task.id
            self.context_id = r.task.context_id or self.context_id
            out: list[Relayable] = []
            for a in r.task.artifacts:
                out += self._artifact(a)
            msg = r.task.status.message if r.task.status.HasField("message") else None
            state = r.task.status.state
            if self.continuing and state == TaskState.TASK_STATE_INPUT_REQUIRED:
                self.continuing = False
                return out
            self.continuing = False
            return out + self._status(state, msg)
        self.continuing = False
        if kind == "status_update":
            self.task_id = self.task_id or r.status_update.task_id
            self.context_id = self.context_id or r.status_update.context_id or None
            s = r.status_update.status
            return self._status(s.state, s.message if s.HasField("message") else None)
        if kind == "artifact_update":
            self.task_id = self.task_id or r.artifact_update.task_id
            return self._artifact(r.artifact_update.artifact)
        if kind == "message":  # a direct answer: no task follows
            self.ended = True
            m = r.message
            text = _text(m)
            out = [("message", {"role": "assistant", "content": text})] if text else []
            return out + [e for e in _part_events(m.parts, "message") if e[0] != "token"]
        return []


def _failure(exc: BaseException, d: AgentDescriptor) -> Exception:
    """The worker-client exception for an A2A client error."""
    cause = exc.__cause__
    if isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout)):
        return WorkerUnreachable(f"cannot connect to {d.endpoint}: {cause}")
    if isinstance(cause, httpx.HTTPStatusError) and cause.response.status_code in BUSY_STATUS:
        try:
            wait = max(0.0, float(cause.response.headers.get("Retry-After") or "1"))
        except ValueError:
            wait = 1.0
        return WorkerBusy(d.instance_id, wait)
    if isinstance(exc, A2AClientTimeoutError):
        return WorkerFailed(f"{d.agent_id} timed out: {exc}", "timeout")
    if isinstance(exc, InvalidParamsError):
        return WorkerFailed(f"{d.agent_id} refused the message: {exc}", "invalid_input")
    if isinstance(exc, A2AClientError):
        return WorkerFailed(f"{d.agent_id} A2A call failed: {exc}", "stream_lost")
    return WorkerFailed(f"{d.agent_id} answered an A2A error: {type(exc).__name__}: {exc}")


async def _cancel(transport: ClientTransport, ctx: ClientCallContext, task_id: str) -> bool:
    """``CancelTask`` for the agent's ``task_id``, bounded by ``CANCEL_TIMEOUT``; whether
    the agent took it (a refusal or a failure is logged, never raised)."""
    try:
        async with asyncio.timeout(CANCEL_TIMEOUT):
            await transport.cancel_task(CancelTaskRequest(id=task_id), context=ctx)
    except (A2AError, TimeoutError, httpx.HTTPError) as exc:
        log.info("CancelTask %s was not accepted: %s", task_id, exc)
        return False
    return True


def _cancel_later(transport: ClientTransport, ctx: ClientCallContext, task_id: str) -> None:
    async def cancel() -> None:
        await _cancel(transport, ctx, task_id)

    task = asyncio.get_running_loop().create_task(cancel(), name=f"a2a-cancel-{task_id}")
    _cancels.add(task)
    task.add_done_callback(_cancels.discard)


async def settle_cancels() -> None:
    """Wait for CancelTask calls still on their way (the app's shutdown, the tests)."""
    if _cancels:
        await asyncio.gather(*list(_cancels), return_exceptions=True)


async def cancel_a2a(
    http: httpx.AsyncClient,
    d: AgentDescriptor,
    task_id: str,
    credentials: A2ACredentials | None = None,
) -> bool:
    """``CancelTask`` for the agent's task ``task_id`` that no call holds any more: one left
    waiting for the user's answer (``input-required``) whose run was cancelled. Goes like
    ``call_a2a``: ``http`` carries no mesh token, ``credentials`` add the agent's own.
    Bounded by ``CANCEL_TIMEOUT``; whether the agent took it (never raises for the agent's
    refusal or absence)."""
    agent = _Agent(d)
    transport = agent.transport(http)
    ctx = ClientCallContext(service_parameters={"A2A-Version": agent.version})
    if credentials is not None:
        await credentials.apply(agent.card, agent.url, ctx)
    return await _cancel(transport, ctx, task_id)


async def call_a2a(
    http: httpx.AsyncClient,
    d: AgentDescriptor,
    request: TaskRequest,
    on_accepted: Callable[[], None] = lambda: None,
    headers: dict[str, str] | None = None,
    idle: float | None = None,
    credentials: A2ACredentials | None = None,
) -> AsyncGenerator[Relayable]:
    """``call_worker``'s contract for an A2A agent: its events, then ``("done", {})``.
    ``on_accepted`` runs at the agent's first answer; ``idle`` bounds the silence between
    two answers (``stalled``). ``http`` must carry no mesh token; ``headers`` (the trace
    context) go out as service parameters, an ``Authorization`` among them never does;
    ``credentials`` add the agent's own, as its card asks."""
    agent = _Agent(d)
    transport = agent.transport(http)
    sent = {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}
    ctx = ClientCallContext(service_parameters={"A2A-Version": agent.version, **sent})
    if credentials is not None:
        await credentials.apply(agent.card, agent.url, ctx)
    call = _Call(d)
    send = SendMessageRequest(message=a2a_message(request, d.agent_id))
    if send.message.task_id:  # the answer to the agent's waiting task
        call.task_id, call.continuing = send.message.task_id, True
        call.context_id = send.message.context_id or None
    answers: AsyncIterator[StreamResponse]
    if d.streaming_mode is StreamingMode.STATIC:
        answers = _one(transport, send, ctx)
    else:
        answers = transport.send_message_streaming(send, context=ctx)
    accepted = asks = False
    try:
        while not call.ended:
            try:
                r = await next_or_stall(answers, idle, d.agent_id)
            except StopAsyncIteration:
                break
            except A2AError as exc:
                raise _failure(exc, d) from None
            if not accepted:
                accepted = True
                on_accepted()
            asks = False
            try:
                events = call.events(r)
            except WorkerFailed as exc:
                raise WorkerFailed(f"{d.agent_id} {exc}", exc.code) from None
            for event in events:
                yield event
                asks = (
                    asks or event[0] == "input_required" or event[1].get("code") == "input_required"
                )
            if asks:
                break  # the agent's task waits for the answer (``input_required``)
        if not call.ended and not asks:
            raise WorkerFailed(
                f"{d.agent_id} ended its A2A stream before its task ended", "stream_lost"
            )
    finally:
        with contextlib.suppress(Exception):
            await answers.aclose()  # type: ignore[attr-defined]
        if call.task_id and not call.ended and not asks:
            _cancel_later(transport, ctx, call.task_id)
    yield "done", {}


async def _one(
    transport: ClientTransport, send: SendMessageRequest, ctx: ClientCallContext
) -> AsyncGenerator[StreamResponse]:
    """``SendMessage``'s one answer as a stream of one."""
    resp = await transport.send_message(send, context=ctx)
    r = StreamResponse()
    if resp.HasField("task"):
        r.task.CopyFrom(resp.task)
    else:
        r.message.CopyFrom(resp.message)
    yield r
