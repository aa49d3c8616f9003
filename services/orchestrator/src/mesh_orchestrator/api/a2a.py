"""The mesh as one A2A agent (protocol v1.0, and v0.3 method names): its card and its
operations, mapped onto runs (``a2a_mapping``) by the a2a-sdk's own route factories.

* ``GET /.well-known/agent-card.json``: the card, built per request from the registry cache:
  one skill per capability (``orchestrate`` for the whole mesh first), the GPU instances as
  the ``urn:agent-mesh:a2a:gpu:v1`` extension, interfaces ``JSONRPC`` at ``/a2a`` and
  ``HTTP+JSON`` at ``/a2a/rest``, ``securitySchemes`` from ``mount_a2a(security=...)`` (with
  auth on: ``BEARER_SECURITY``, the mesh's client tokens) and one security requirement
  naming them all, so an A2A client knows to send ``Authorization: Bearer``.
* ``POST /a2a``: JSON-RPC (``SendStreamingMessage``/``message/stream``, ``SendMessage``,
  ``GetTask``, ``ListTasks``, ``CancelTask``, ``SubscribeToTask``/``tasks/resubscribe``);
  ``/a2a/rest/...``: the same over the REST binding. Errors are JSON-RPC error objects
  (REST: A2A error bodies), never a trace. Push notifications are not supported.

A message is a run: its text parts are the query; a data part (or the request's metadata)
may carry ``{"plan": ExecutionPlan, "options": RunOptions}``. The run outlives the stream:
a client that leaves may ``SubscribeToTask`` later. That stream sends the task snapshot
first, then replays every event after the ``Last-Event-ID`` header (the ``metadata.mesh.seq``
of the last event the client saw; none: only what happens from now on), then follows the
run live. A finished run answers with the snapshot and the replay, then ends. A client past
its quotas (``api/limits.py``) gets ``InvalidRequestError`` saying so, with
``data.retryAfter`` in seconds.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any

from a2a.server.context import ServerCallContext
from a2a.server.request_handlers.request_handler import RequestHandler
from a2a.server.request_handlers.response_helpers import agent_card_to_dict
from a2a.server.routes import add_a2a_routes_to_fastapi, create_jsonrpc_routes, create_rest_routes
from a2a.types.a2a_pb2 import (
    AgentCapabilities,
    AgentCard,
    AgentExtension,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    HTTPAuthSecurityScheme,
    ListTaskPushNotificationConfigsRequest,
    ListTaskPushNotificationConfigsResponse,
    ListTasksRequest,
    ListTasksResponse,
    Message,
    SecurityScheme,
    SendMessageRequest,
    SubscribeToTaskRequest,
    Task,
    TaskPushNotificationConfig,
)
from a2a.utils.errors import (
    ContentTypeNotSupportedError,
    InvalidParamsError,
    InvalidRequestError,
    PushNotificationNotSupportedError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from google.protobuf.json_format import MessageToDict
from pydantic import ValidationError
from starlette.routing import Mount

from mesh_auth import Keys, Principal
from mesh_auth.http import AuthError, ScopeGuard, principal_from_headers
from mesh_contracts import RunStatus
from mesh_contracts.a2a import A2A_PROTOCOL_VERSION, AGENT_CARD_PATH, gpu_extension, gpu_facts
from mesh_orchestrator.api.a2a_mapping import (
    CONTEXT_OPTION,
    A2AEvent,
    EventTranslator,
    context_of,
    run_status,
    snapshot,
)
from mesh_orchestrator.api.access import may_see
from mesh_orchestrator.api.limits import StreamSlot, TooMany, start_run
from mesh_orchestrator.api.models import OrchestrateRequest
from mesh_orchestrator.runs.service import BadAnswer, CancelOutcome, RunService
from mesh_orchestrator.runs.store.base import RunRecord
from mesh_orchestrator.services import Services

RPC_PATH = "/a2a"
REST_PATH = "/a2a/rest"
CANCEL_WAIT_SECONDS = 10.0  # CancelTask answers once the run has ended, or after this
DEFAULT_PAGE = 50
MAX_PAGE = 100  # ListTasks: pageSize must be 1..100 (A2A 1.0, 3.1.4)
LISTED = 500  # ListTasks looks at this caller's newest runs, at most
# What a message may carry (the card's defaultInputModes) and what an answer can be.
INPUT_MODES = ("text/plain", "application/json")
OUTPUT_MODES = ("text/plain", "application/json")
# The scheme the A2A routes check when the mesh has keys: a client (or admin) token as a
# bearer JWT (``mesh token issue --client NAME``).
BEARER_SECURITY: Mapping[str, SecurityScheme] = {
    "bearer": SecurityScheme(
        http_auth_security_scheme=HTTPAuthSecurityScheme(
            scheme="Bearer",
            bearer_format="JWT",
            description="A JWT the mesh issues to a client (scope client:<name>) or an admin",
        )
    )
}


def _cursor(context: ServerCallContext) -> int | None:
    headers: Mapping[str, str] = context.state.get("headers", {})
    raw = headers.get("last-event-id") or headers.get("Last-Event-ID")
    if raw is None:
        return None
    try:  # JSON clients read metadata.mesh.seq as a number: "12" and "12.0" both do
        seq = float(raw.strip())
    except ValueError:
        seq = -1.0
    if seq < 0 or not seq.is_integer():
        raise InvalidParamsError(message="Last-Event-ID must be a run event's seq (an integer)")
    return int(seq)


def _media(media_type: str) -> str:
    return media_type.split(";", 1)[0].strip().lower()


def _check_modes(params: SendMessageRequest) -> None:
    """``ContentTypeNotSupported`` for a part of a media type the mesh does not take, or
    for a client that accepts none of the answer's media types."""
    for p in params.message.parts:
        media = _media(p.media_type)
        if media and media not in INPUT_MODES:
            raise ContentTypeNotSupportedError(
                message=f"Incompatible content types: a part of type {media[:100]!r};"
                f" the mesh takes {', '.join(INPUT_MODES)}"
            )
    accepted = [_media(m) for m in params.configuration.accepted_output_modes]
    if accepted and not any(
        m in ("*/*", *OUTPUT_MODES)
        or (m.endswith("/*") and any(o.startswith(m[:-1]) for o in OUTPUT_MODES))
        for m in accepted
    ):
        raise ContentTypeNotSupportedError(
            message="Incompatible content types: the mesh answers in "
            f"{', '.join(OUTPUT_MODES)}, none of the accepted output modes"
        )


def _request_of(message: Message, metadata: dict[str, Any]) -> OrchestrateRequest:
    """The run a message asks for: text parts (and inline ``text/plain`` files) → query;
    ``plan``/``options`` from a data part (or an inline JSON file) or the request metadata.
    A file by URL is refused: the mesh fetches nothing a message points at."""
    texts: list[str] = []
    extra: dict[str, Any] = {k: metadata[k] for k in ("plan", "options") if k in metadata}
    for p in message.parts:
        kind = p.WhichOneof("content")
        data: Any = None
        if kind == "text":
            texts.append(p.text)
        elif kind == "url":
            raise InvalidParamsError(message="a file by URL is not fetched: send it inline")
        elif kind == "raw" and _media(p.media_type) == "application/json":
            try:
                data = json.loads(p.raw)
            except ValueError:
                raise InvalidParamsError(message="an application/json part is not JSON") from None
        elif kind == "raw":
            texts.append(p.raw.decode("utf-8", errors="replace"))
        elif kind == "data":
            data = MessageToDict(p.data)
        if isinstance(data, dict):
            extra |= {k: data[k] for k in ("plan", "options") if k in data}
    text = "\n".join(texts)
    try:
        return OrchestrateRequest.model_validate({"query": text or None, **extra})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        raise InvalidParamsError(message=f"{where}: {first['msg']}"[:500]) from None


def _history(requested: int | None) -> bool:
    """Whether a task is shown with its history, for a request's ``historyLength`` (None:
    not given); a negative one is refused. The history is one message, the query."""
    if requested is not None and requested < 0:
        raise InvalidParamsError(message="historyLength must not be negative")
    return requested != 0


def _refused(exc: TooMany) -> InvalidRequestError:
    """A client's quota refusal (a 429 over HTTP) as an A2A error."""
    return InvalidRequestError(message=str(exc.detail), data={"retryAfter": exc.retry_after})


class MeshRequestHandler(RequestHandler):
    """A2A operations over the ``RunService`` (found on the app once its lifespan ran)."""

    def __init__(
        self, services: Callable[[], Services], keys: Callable[[], Keys | None] = lambda: None
    ) -> None:
        self._services = services
        self._keys = keys

    def _caller(self, context: ServerCallContext) -> Principal:
        """Who calls (the HTTP layer already refused anyone but a client or admin token)."""
        try:
            headers = context.state.get("headers", {})
            return principal_from_headers(self._keys(), headers, "orchestrator")
        except AuthError:
            raise TaskNotFoundError from None

    async def _visible(self, task_id: str, context: ServerCallContext) -> RunRecord | None:
        """The run, if this caller may see it (a client sees only its own runs)."""
        record = await self.runs.get(task_id)
        return record if may_see(self._caller(context), record) else None

    @property
    def runs(self) -> RunService:
        return self._services().runs

    async def _start(self, params: SendMessageRequest, context: ServerCallContext) -> Task:
        if not params.message.message_id:
            raise InvalidParamsError(message="message.messageId is required")
        if params.message.task_id:
            record = await self._visible(params.message.task_id, context)
            if record is None:
                raise TaskNotFoundError
            if record.status is RunStatus.INPUT_REQUIRED:  # A2A input-required: the answer
                return await self._answer(record, params)
            raise UnsupportedOperationError(
                message="each message starts a new run; continuing a task is not supported"
                " (except answering a task in input-required)"
            )
        _check_modes(params)
        body = _request_of(params.message, MessageToDict(params.metadata))
        options = body.options.model_dump(mode="json") | {
            "on_disconnect": "continue",  # an A2A client may come back with SubscribeToTask
            CONTEXT_OPTION: params.message.context_id or uuid.uuid4().hex,
        }
        caller = self._caller(context)
        try:
            record = await start_run(self._services(), caller, body.query or "", body.plan, options)
        except TooMany as exc:
            raise _refused(exc) from None
        return snapshot(record)

    async def _answer(self, record: RunRecord, params: SendMessageRequest) -> Task:
        """A message on a task in ``input-required``: its text answers the run's (first)
        open question, as ``POST /v1/runs/{id}/input`` would."""
        body = _request_of(params.message, MessageToDict(params.metadata))
        asking = await self.runs.open_questions(record.run_id)
        task_id = asking[0] if asking else None
        if task_id is None:
            raise UnsupportedOperationError(message="the task asks nothing")
        try:
            await self.runs.answer(record.run_id, task_id, (body.query or "").strip())
        except BadAnswer as exc:
            raise InvalidParamsError(message=str(exc)) from None
        return snapshot(await self.runs.get(record.run_id) or record)

    def _slot(self, context: ServerCallContext, run_id: str | None = None) -> StreamSlot:
        """A stream of this caller's counted (per client, per run; A2A error past a cap)."""
        try:
            return self._services().streams.open(self._caller(context), run_id)
        except TooMany as exc:
            raise _refused(exc) from None

    async def _follow(self, task: Task, after: int) -> AsyncGenerator[A2AEvent]:
        """The run's events with seq > ``after`` (translated from seq 1, so ``append`` is
        right), until its end."""
        runs = self.runs
        record = await runs.get(task.id)
        sub = await runs.events(task.id, 0)
        if record is None or sub is None:
            raise TaskNotFoundError
        translate = EventTranslator(record).translate
        try:
            while (batch := await sub.take()) is not None:
                for e in batch:
                    event = translate(e)
                    if e.seq > after:
                        yield event
        finally:
            runs.unsubscribe(task.id, sub)

    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Any]:
        slot = self._slot(context)
        try:
            task = await self._start(params, context)
            slot.join(task.id)  # a new run: nobody else streams it yet
            yield task
            async for event in self._follow(task, 0):
                yield event
        finally:
            slot.close()

    async def on_message_send(self, params: SendMessageRequest, context: ServerCallContext) -> Task:
        config = params.configuration
        history = _history(config.history_length if config.HasField("history_length") else None)
        task = await self._start(params, context)
        if config.return_immediately:
            if not history:
                task.ClearField("history")
            return task
        done = await self.runs.outcome(task.id)
        assert done is not None
        return snapshot(done.record, history=history)

    async def on_subscribe_to_task(
        self, params: SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncGenerator[Any]:
        cursor = _cursor(context)
        record = await self._visible(params.id, context)
        if record is None:
            raise TaskNotFoundError
        if record.finished:  # A2A 1.0: no subscription to a task in a terminal state
            raise UnsupportedOperationError(
                message=f"task {params.id} already ended ({record.status.value}): GetTask"
                " answers its final state"
            )
        task = snapshot(record)
        slot = self._slot(context, task.id)
        try:
            yield task
            after = record.last_seq if cursor is None else cursor
            async for event in self._follow(task, after):
                yield event
        finally:
            slot.close()

    async def on_get_task(self, params: GetTaskRequest, context: ServerCallContext) -> Task | None:
        history = _history(params.history_length if params.HasField("history_length") else None)
        record = await self._visible(params.id, context)
        return None if record is None else snapshot(record, history=history)

    async def on_list_tasks(
        self, params: ListTasksRequest, context: ServerCallContext
    ) -> ListTasksResponse:
        size = params.page_size if params.HasField("page_size") else DEFAULT_PAGE
        if not 1 <= size <= MAX_PAGE:
            raise InvalidParamsError(message=f"pageSize must be between 1 and {MAX_PAGE}")
        history = _history(params.history_length if params.HasField("history_length") else None)
        offset = _offset(params.page_token)
        wanted = run_status(params.status) if params.status else None
        after = (
            params.status_timestamp_after.ToSeconds()
            if params.HasField("status_timestamp_after")
            else None
        )
        records = [
            r
            for r in await self.runs.list(LISTED, _owner_filter(self._caller(context)))
            if (not params.context_id or context_of(r) == params.context_id)
            and (wanted is None or r.status is wanted)
            and (after is None or (r.finished_at or r.created_at) >= after)
        ]
        if offset > len(records):
            raise InvalidParamsError(message="pageToken is not one this server gave")
        page = records[offset : offset + size]
        more = offset + size < len(records)
        return ListTasksResponse(
            tasks=[snapshot(r, history=history) for r in page],
            next_page_token=str(offset + size) if more else "",
            page_size=size,
            total_size=len(records),
        )

    async def on_cancel_task(
        self, params: CancelTaskRequest, context: ServerCallContext
    ) -> Task | None:
        if await self._visible(params.id, context) is None:
            return None
        outcome, record = await self.runs.cancel(params.id)
        if outcome is CancelOutcome.UNKNOWN or record is None:
            return None
        if outcome is CancelOutcome.FINISHED:
            raise TaskNotCancelableError(
                message=f"task {params.id} already ended ({record.status.value})"
            )
        try:
            async with asyncio.timeout(CANCEL_WAIT_SECONDS):
                done = await self.runs.outcome(params.id)
        except TimeoutError:
            done = None
        latest = done.record if done is not None else await self.runs.get(params.id)
        return snapshot(latest or record)

    async def on_create_task_push_notification_config(
        self, params: TaskPushNotificationConfig, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        raise PushNotificationNotSupportedError

    async def on_get_task_push_notification_config(
        self, params: GetTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        raise PushNotificationNotSupportedError

    async def on_list_task_push_notification_configs(
        self, params: ListTaskPushNotificationConfigsRequest, context: ServerCallContext
    ) -> ListTaskPushNotificationConfigsResponse:
        raise PushNotificationNotSupportedError

    async def on_delete_task_push_notification_config(
        self, params: DeleteTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> None:
        raise PushNotificationNotSupportedError

    async def on_get_extended_agent_card(
        self, params: GetExtendedAgentCardRequest, context: ServerCallContext
    ) -> AgentCard:
        raise UnsupportedOperationError(message="the mesh has no extended agent card")


def build_card(
    svc: Services, base_url: str, security: Mapping[str, SecurityScheme] | None = None
) -> AgentCard:
    """The mesh's card from the registry cache as it is now."""
    base = base_url.rstrip("/")
    skills = [
        AgentSkill(
            id="orchestrate",
            name="orchestrate",
            description="Plans a request into sub-tasks, runs them on the mesh's agents in "
            "parallel and streams their output, ending with one synthesized answer.",
            tags=["orchestration", *svc.discovery.manifest().names()],
            examples=["Write a haiku about rain and summarize the history of umbrellas"],
        )
    ]
    for cap in svc.discovery.manifest().capabilities:
        agents = ", ".join(f"{a.agent_id} ({a.description})" for a in cap.agents)
        examples = [x for a in cap.agents for s in a.skills for x in s.examples][:5]
        tags = sorted({cap.name, *(t for a in cap.agents for t in a.tags)})
        skills.append(
            AgentSkill(
                id=cap.name,
                name=cap.name.replace("_", " "),
                description=f"served by {agents}"[:1000],
                tags=tags,
                examples=examples,
            )
        )
    gpus = [
        gpu_facts(r.descriptor.agent_id, r.descriptor.instance_id, r.descriptor.resources)
        | ({"gpuFreeMb": r.load.gpu_free_mb} if r.load and r.load.gpu_free_mb is not None else {})
        for r in svc.discovery.records
        if r.healthy and r.descriptor.resources.gpu
    ]
    extensions = []
    if (gpu := gpu_extension(gpus)) is not None:
        ext = AgentExtension(uri=gpu["uri"], description=gpu["description"])
        ext.params.update(gpu["params"])
        extensions.append(ext)
    card = AgentCard(
        name="agent mesh",
        description="An orchestrator over a mesh of agents: one request, planned into a DAG "
        "of sub-tasks, every worker's stream relayed as it arrives.",
        version="0.1.0",
        provider=AgentProvider(organization="agent mesh", url=base),
        supported_interfaces=[
            AgentInterface(
                url=base + RPC_PATH,
                protocol_binding="JSONRPC",
                protocol_version=A2A_PROTOCOL_VERSION,
            ),
            AgentInterface(
                url=base + REST_PATH,
                protocol_binding="HTTP+JSON",
                protocol_version=A2A_PROTOCOL_VERSION,
            ),
        ],
        capabilities=AgentCapabilities(
            streaming=True, push_notifications=False, extensions=extensions
        ),
        default_input_modes=["text/plain", "application/json"],
        default_output_modes=["text/plain", "application/json"],
        skills=skills,
    )
    for name, scheme in (security or {}).items():
        card.security_schemes[name].CopyFrom(scheme)
    if security:
        requirement = card.security_requirements.add()
        for name in security:
            requirement.schemes[name].SetInParent()
    return card


def _offset(token: str) -> int:
    """Where a ``pageToken`` starts (the first page for none); a token this server did not
    give is refused, never read as the first page."""
    if not token:
        return 0
    if not token.isdigit() or len(token) > 6:
        raise InvalidParamsError(message="pageToken is not one this server gave")
    return int(token)


def _owner_filter(caller: Principal) -> str | None:
    return None if caller.is_admin else caller.scope


def mount_a2a(app: FastAPI, *, security: Mapping[str, SecurityScheme] | None = None) -> None:
    """Add the card, the JSON-RPC endpoint and the REST binding to ``app``. ``security``
    fills the card's ``securitySchemes`` (the schemes the API checks)."""

    def services() -> Services:
        svc: Services = app.state.services
        return svc

    handler = MeshRequestHandler(services, lambda: getattr(app.state, "mesh_keys", None))
    # The SDK's routes take no FastAPI dependency: the token is checked in front of them
    # (a client or admin token; 401/403 JSON like every other run route).
    app.add_middleware(ScopeGuard, paths=(RPC_PATH, REST_PATH + "/"), scopes=("client:*", "admin"))

    async def agent_card(request: Request) -> JSONResponse:
        card = build_card(services(), str(request.base_url), security)
        return JSONResponse(agent_card_to_dict(card))

    app.add_api_route(AGENT_CARD_PATH, agent_card, methods=["GET"], tags=["A2A: Agent Card"])
    # The REST binding in a Mount of its own: its tenant routes (``/{tenant}/...``) would
    # otherwise match every two-segment path of the app.
    add_a2a_routes_to_fastapi(
        app,
        jsonrpc_routes=create_jsonrpc_routes(handler, RPC_PATH, enable_v0_3_compat=True),
        rest_routes=[Mount(REST_PATH, routes=create_rest_routes(handler))],
    )
