"""The mesh as an OpenAI model: ``GET /v1/models`` and ``POST /v1/chat/completions``.

The ``messages`` list is a thread: the last ``user`` message is the run's query, and the
earlier user/assistant pairs are the thread's earlier turns (``runs.threads``), so "now
translate that into German" plans against the previous assistant message and the writer and
synthesis see the conversation; the model id is ``mesh``. A request is one run, started and
read through the ``RunService`` like ``/orchestrate``:

* ``stream: false``: a ``chat.completion`` whose message is the run's answer, ``usage``
  (counted in whitespace-separated words, as the mesh's models tokenize differently) and an
  extra ``mesh`` object (``run_id``, ``status``, ``trace_id`` when traced). The client
  leaving before the answer cancels the run, as with a stream.
* ``stream: true``: ``chat.completion.chunk`` SSE frames ending in ``data: [DONE]``: a role
  chunk, the synthesis as it is written (the run's ``token`` events of task ``synthesis``;
  the deterministic synthesis writes no tokens, so its answer is sent in word chunks when the
  run's result arrives), a finish chunk, the usage chunk if ``stream_options.include_usage``.
  The client leaving cancels the run.
* ``mesh_events: true`` in the body (the OpenAI SDKs' ``extra_body``) or the header
  ``X-Mesh-Events: true`` adds the run's progress to the stream: chunks with no ``choices``
  and a ``mesh`` object ``{"run_id", "seq", "type", "task_id", "agent_id", "data"}`` for each
  run event but tokens (the plan, each sub-task's status with its routing candidates, its
  messages, progress, artifacts, results and errors); the role chunk's ``mesh`` names the
  ``run_id`` and ``trace_id``. Without it a stream is plain OpenAI.

Errors have OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``: 400 for a
body that is not JSON or does not validate (FastAPI's 422 is not used here), or a request
the mesh cannot honour (``n`` > 1, tools, no user message, a query past 8000 characters);
404 ``model_not_found`` for another model; 429 ``rate_limit_exceeded`` (with
``Retry-After``) past the client's quotas (``api/limits.py``); 500 when a run ended with no
answer at all.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from mesh_contracts import encode_event
from mesh_contracts.openai_wire import (
    ChatMessage,
    OpenAIError,
    StreamOptions,
    completion_id,
    now,
    parse_request,
    usage,
)
from mesh_orchestrator.api.access import RegistryReader, RunCaller
from mesh_orchestrator.api.disconnect import CLIENT_CLOSED, ClientGone, unless_gone
from mesh_orchestrator.api.limits import StreamSlot, TooMany, start_run
from mesh_orchestrator.api.models import MAX_QUERY, RunOptions
from mesh_orchestrator.api.sse import event_stream
from mesh_orchestrator.runs.events import RelayedEvent
from mesh_orchestrator.runs.replay import Feed
from mesh_orchestrator.runs.service import RunService
from mesh_orchestrator.runs.threads import MESSAGES_OPTION, TURNS
from mesh_orchestrator.services import Services

MODEL_ID = "mesh"
SYNTHESIS_TASK = "synthesis"  # the task id of the synthesis' token events
_DONE = encode_event("[DONE]")
_WORDS = re.compile(r"\s*\S+\s*")
_CREATED = now()
TURN_CHARS = 8000  # an earlier message is cut to this many characters

router = APIRouter(prefix="/v1", tags=["openai"])


class MeshChatRequest(BaseModel):
    """``POST /v1/chat/completions``. Unknown fields are ignored (OpenAI's SDKs add new ones
    often); ``temperature``, ``max_tokens`` and the like are accepted and left to the
    workers' own settings."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=256)
    messages: list[ChatMessage] = Field(min_length=1, max_length=256)
    n: int | None = Field(default=None, ge=1)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    tools: list[dict[str, Any]] | None = None
    mesh_events: bool = False

    def earlier_turns(self) -> list[dict[str, str]]:
        """The turns before the last user message, as ``{"query", "answer"}`` (a user
        message and the assistant messages after it), the last ``TURNS`` of them."""
        last = max(i for i, m in enumerate(self.messages) if m.role == "user")
        turns: list[dict[str, str]] = []
        for m in self.messages[:last]:
            text = m.text().strip()[:TURN_CHARS]
            if m.role == "user":
                turns.append({"query": text, "answer": ""})
            elif m.role == "assistant" and text:
                if not turns:
                    turns.append({"query": "", "answer": ""})
                sep = "\n\n" if turns[-1]["answer"] else ""
                turns[-1]["answer"] = (turns[-1]["answer"] + sep + text)[:TURN_CHARS]
        return turns[-TURNS:]

    def query(self) -> str:
        """The last user message's text; raises ``OpenAIError`` when there is none usable."""
        users = [m for m in self.messages if m.role == "user"]
        if not users or not users[-1].text().strip():
            raise OpenAIError(
                "messages: the last user message is the query, and there is none with text",
                param="messages",
                code="invalid_value",
            )
        text = users[-1].text().strip()
        if len(text) > MAX_QUERY:
            raise OpenAIError(
                f"messages: the query is {len(text)} characters; at most {MAX_QUERY}",
                param="messages",
                code="context_length_exceeded",
            )
        return text


async def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


Svc = Annotated[Services, Depends(_services)]


def _model(created: int = _CREATED) -> dict[str, Any]:
    return {"id": MODEL_ID, "object": "model", "created": created, "owned_by": "mesh"}


def _error(exc: OpenAIError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


def _too_many(exc: TooMany) -> JSONResponse:
    error = OpenAIError(
        str(exc.detail), status=429, type="rate_limit_error", code="rate_limit_exceeded"
    )
    return _error(error, {"Retry-After": str(exc.retry_after)})


def _unknown_model(model: str) -> OpenAIError:
    return OpenAIError(
        f"The model {model!r} does not exist; this server serves {MODEL_ID!r}",
        status=404,
        param="model",
        code="model_not_found",
    )


async def _parse(request: Request) -> MeshChatRequest:
    req = parse_request(await request.body(), MeshChatRequest)
    if req.model != MODEL_ID:
        raise _unknown_model(req.model)
    if req.n not in (None, 1):
        raise OpenAIError("n: only n=1 is supported", param="n", code="unsupported_value")
    if req.tools:
        raise OpenAIError(
            "tools: tool calling is not supported by the mesh",
            param="tools",
            code="unsupported_parameter",
        )
    return req


class RunReading:
    """What a chat completion needs of a run's events, folded as they are read."""

    def __init__(self) -> None:
        self.streamed: list[str] = []  # synthesis tokens, as sent
        self.answer: str | None = None
        self.status = "failed"
        self.failure: str | None = None
        self.trace_id: str | None = None

    def text(self) -> str:
        return self.answer if self.answer is not None else "".join(self.streamed)

    def rest(self) -> str:
        """What of the answer the synthesis' tokens did not already send: all of it when
        none came (the deterministic synthesis), nothing when the answer is not what they
        wrote (an LLM synthesis broke off and the deterministic one replaced it)."""
        sent = "".join(self.streamed)
        if self.answer is None or not self.answer.startswith(sent):
            return ""
        return self.answer[len(sent) :]

    def add(self, e: RelayedEvent) -> str | None:
        """Fold ``e``; the synthesis token it carries, if any."""
        if e.type == "token":
            if e.task_id == SYNTHESIS_TASK:
                token = str(e.data.get("token", ""))
                self.streamed.append(token)
                return token
        elif e.task_id is None:
            if e.type == "run":
                self.trace_id = e.data.get("trace_id")
            elif e.type == "result":
                self.answer = str(e.data.get("answer", ""))
            elif e.type == "error":
                self.failure = str(e.data.get("error", ""))
            elif e.type == "done":
                self.status = str(e.data.get("status", self.status))
        return None

    def mesh(self, run_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"run_id": run_id, "status": self.status}
        if self.trace_id:
            out["trace_id"] = self.trace_id
        return out

    def no_answer(self) -> OpenAIError:
        why = self.failure or f"the run ended {self.status} without an answer"
        return OpenAIError(why, status=500, type="server_error", code="run_failed")


def _words(query: str) -> int:
    return len(query.split())


def _mesh_event(e: RelayedEvent) -> dict[str, Any]:
    return {
        "run_id": e.run_id,
        "seq": e.seq,
        "type": e.type,
        "task_id": e.task_id,
        "agent_id": e.agent_id,
        "data": e.data,
    }


async def _chunks(
    runs: RunService,
    run_id: str,
    sub: Feed,
    req: MeshChatRequest,
    query: str,
    with_events: bool,
    slot: StreamSlot,
) -> AsyncIterator[bytes]:
    """The SSE body of a streamed completion (see the module); ends the subscription."""
    include_usage = req.stream_options is not None and req.stream_options.include_usage
    base: dict[str, Any] = {
        "id": completion_id(),
        "object": "chat.completion.chunk",
        "created": now(),
        "model": MODEL_ID,
        "system_fingerprint": None,
    }
    extra: dict[str, Any] = {"usage": None} if include_usage else {}
    reading = RunReading()

    def chunk(
        delta: dict[str, Any], finish: str | None = None, mesh: dict[str, Any] | None = None
    ) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        more = {"mesh": mesh} if mesh is not None else {}
        return encode_event({**base, "choices": [choice], **extra, **more})

    def progress(e: RelayedEvent) -> bytes:
        return encode_event({**base, "choices": [], **extra, "mesh": _mesh_event(e)})

    try:
        started = False
        while (batch := await sub.take()) is not None:
            for e in batch:
                token = reading.add(e)
                if not started:  # the first event is the run's: it names the trace
                    started = True
                    named = {"run_id": run_id, "trace_id": reading.trace_id}
                    yield chunk(
                        {"role": "assistant", "content": ""}, None, named if with_events else None
                    )
                if token:
                    yield chunk({"content": token})
                elif e.type == "result" and e.task_id is None:
                    for word in _WORDS.findall(reading.rest()):
                        yield chunk({"content": word})
                if with_events and e.type != "token":
                    yield progress(e)
        if reading.answer is None and not reading.streamed:
            yield encode_event(reading.no_answer().body())
            yield _DONE
            return
        yield chunk({}, "stop")
        if include_usage:
            counts = usage(_words(query), _words(reading.text()))
            yield encode_event({**base, "choices": [], "usage": counts})
        yield _DONE
    finally:
        runs.unsubscribe(run_id, sub)
        slot.close()


async def _complete(
    request: Request, runs: RunService, run_id: str, sub: Feed, query: str
) -> Response:
    """The run read to its end; a client leaving first cancels it (answered 499, which
    nobody reads but the HTTP metrics count)."""
    reading = RunReading()

    async def read() -> None:
        try:
            while (batch := await sub.take()) is not None:
                for e in batch:
                    reading.add(e)
        finally:
            runs.unsubscribe(run_id, sub)

    try:
        await unless_gone(request, read())
    except ClientGone:
        runs.cancel_now(run_id)
        return _error(
            OpenAIError("the client closed the request", status=CLIENT_CLOSED, code="client_closed")
        )
    if reading.answer is None:
        return _error(reading.no_answer())
    text = reading.answer
    return JSONResponse(
        {
            "id": completion_id(),
            "object": "chat.completion",
            "created": now(),
            "model": MODEL_ID,
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": usage(_words(query), _words(text)),
            "mesh": reading.mesh(run_id),
        }
    )


@router.get("/models")
async def list_models(_: RegistryReader) -> dict[str, Any]:
    """The one model this server is: the whole mesh."""
    return {"object": "list", "data": [_model()]}


@router.get("/models/{model}", response_model=None)
async def get_model(model: str, _: RegistryReader) -> dict[str, Any] | JSONResponse:
    if model != MODEL_ID:
        return _error(_unknown_model(model))
    return _model()


@router.post(
    "/chat/completions",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": MeshChatRequest.model_json_schema()}},
        }
    },
)
async def chat_completions(
    request: Request,
    svc: Svc,
    caller: RunCaller,
    x_mesh_events: Annotated[str | None, Header()] = None,
) -> Response:
    """A run of the mesh as a chat completion; ``stream: true`` answers with SSE chunks."""
    try:
        req = await _parse(request)
        query = req.query()
    except OpenAIError as exc:
        return _error(exc)
    runs = svc.runs
    options = RunOptions().model_dump(mode="json") | {MESSAGES_OPTION: req.earlier_turns()}
    try:
        slot = svc.streams.open(caller) if req.stream else None
        try:
            record = await start_run(svc, caller, query, None, options)
        except BaseException:
            if slot is not None:
                slot.close()
            raise
    except TooMany as exc:
        return _too_many(exc)
    run_id = record.run_id
    sub = await runs.events(run_id, 0)
    assert sub is not None  # just started: it is live
    if slot is None:
        return await _complete(request, runs, run_id, sub, query)
    slot.join(run_id)  # a new run: nobody else streams it yet

    def left() -> None:
        runs.cancel_now(run_id)

    with_events = req.mesh_events or (x_mesh_events or "").strip().lower() in ("1", "true")
    body = _chunks(runs, run_id, sub, req, query, with_events, slot)
    slot.close_with(body)
    return event_stream(
        body,
        ping_seconds=svc.settings.ping_seconds,
        headers={"Content-Location": f"/v1/runs/{run_id}"},
        on_disconnect=left,
    )
