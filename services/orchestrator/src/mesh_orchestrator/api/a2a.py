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
  (REST: A2A error bodies), never a trace.
* Push notifications (``tasks/pushNotificationConfig/set``, ``get``, ``list``, ``delete``;
  or ``configuration.taskPushNotificationConfig`` with the message): each state change of
  the task is posted to the config's URL as a ``StreamResponse`` with the task, its
  ``token`` in ``X-A2A-Notification-Token``, through the webhook outbox (``push/``):
  retried, each with an ``X-Mesh-Delivery`` id, surviving a replica's crash.
* ``contextId`` is a thread id (``runs.threads``): messages with the same one are runs on
  one thread, each seeing the earlier ones' answers and outputs ("translate that").

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
    MutualTlsSecurityScheme,
    SecurityScheme,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskPushNotificationConfig,
)
from a2a.utils.errors import (
    ContentTypeNotSupportedError,
    InvalidParamsError,
    InvalidRequestError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response
from google.protobuf.json_format import MessageToDict
from pydantic import ValidationError
from starlette.routing import Mount

from mesh_auth import Keys, Principal
from mesh_auth.http import AuthError, principal_from_headers
from mesh_contracts import RunStatus
from mesh_contracts.a2a import A2A_PROTOCOL_VERSION, AGENT_CARD_PATH, gpu_extension, gpu_facts
from mesh_orchestrator.api import a2a_history, continuation
from mesh_orchestrator.api.a2a_http import CardCache
from mesh_orchestrator.api.a2a_mapping import (
    CONTEXT_OPTION,
    A2AEvent,
    EventTranslator,
    context_of,
    run_status,
    snapshot,
)
from mesh_orchestrator.api.a2a_route import REST_PATH, RPC_PATH
from mesh_orchestrator.api.access import may_see, owner_of
from mesh_orchestrator.api.limits import StreamSlot, TooMany, start_run
from mesh_orchestrator.api.models import OrchestrateRequest
from mesh_orchestrator.push.notifier import BadWebhook
from mesh_orchestrator.runs.service import CancelOutcome, RunService
from mesh_orchestrator.runs.store.base import RunRecord
from mesh_orchestrator.runs.store.outbox import PushConfig
from mesh_orchestrator.services import Services

CANCEL_WAIT_SECONDS = 10.0  # CancelTask answers once the run has ended, or after this
DEFAULT_PAGE = 50
MAX_PAGE = 100  # ListTasks: pageSize must be 1..100 (A2A 1.0, 3.1.4)
WAIT_POLL_SECONDS = 0.25  # a subscriber of a task awaiting its client looks this often
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
# Under mTLS (MESH_TLS_*) the A2A routes also need a client certificate from the mesh's CA.
MTLS_SECURITY: Mapping[str, SecurityScheme] = {
    "mtls": SecurityScheme(
        mtls_security_scheme=MutualTlsSecurityScheme(
            description="A client certificate signed by the mesh's CA (mesh certs init)"
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
    texts, objects = _parts(message)
    extra: dict[str, Any] = {k: metadata[k] for k in ("plan", "options") if k in metadata}
    for data in objects:
        extra |= {k: data[k] for k in ("plan", "options") if k in data}
    text = "\n".join(texts)
    try:
        return OrchestrateRequest.model_validate({"query": text or None, **extra})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        raise InvalidParamsError(message=f"{where}: {first['msg']}"[:500]) from None


def _parts(message: Message) -> tuple[list[str], list[dict[str, Any]]]:
    """A message's text parts (raw non-JSON ones decoded) and its JSON objects (data parts
    and inline ``application/json`` parts), in order. A file by URL is refused: the mesh
    fetches nothing a message points at."""
    texts: list[str] = []
    objects: list[dict[str, Any]] = []
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
            objects.append(data)
    return texts, objects


def _reply_of(message: Message, metadata: dict[str, Any]) -> continuation.Reply:
    """What a follow-up message says to a waiting run: its text parts, and its data (a
    data part or inline JSON object, over the request metadata's ``approve``, ``reason``,
    ``plan``)."""
    texts, objects = _parts(message)
    data: dict[str, Any] = {k: metadata[k] for k in ("approve", "reason", "plan") if k in metadata}
    for found in objects:
        data |= found
    return continuation.Reply(text="\n".join(texts), data=data)


def _history(requested: int | None) -> int | None:
    """A request's ``historyLength`` (None: not given, the whole history); a negative one
    is refused."""
    if requested is not None and requested < 0:
        raise InvalidParamsError(message="historyLength must not be negative")
    return requested


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
            return await self._continue(params, context)
        _check_modes(params)
        body = _request_of(params.message, MessageToDict(params.metadata))
        context_id = params.message.context_id or uuid.uuid4().hex
        options = body.options.model_dump(mode="json") | {
            "on_disconnect": "continue",  # an A2A client may come back with SubscribeToTask
            CONTEXT_OPTION: context_id,
        }
        caller = self._caller(context)
        push = params.configuration.task_push_notification_config
        if params.configuration.HasField("task_push_notification_config"):
            await self._check_push_url(push.url)
        await self._thread(context_id, caller)
        try:
            record = await start_run(
                self._services(),
                caller,
                body.query or "",
                body.plan,
                options,
                thread_id=context_id,
                strategy=body.multitask_strategy,
            )
        except TooMany as exc:
            raise _refused(exc) from None
        except HTTPException as exc:
            raise InvalidRequestError(message=str(exc.detail)) from None
        if params.configuration.HasField("task_push_notification_config"):
            await self._set_push(record.run_id, push, caller)
        return snapshot(record)

    async def _continue(self, params: SendMessageRequest, context: ServerCallContext) -> Task:
        """A message naming one of the caller's tasks (A2A 1.0 3.4): an answer to a run
        awaiting its client (``continuation.answer``), which then goes on. Another
        client's task or none: ``TaskNotFound``; a contextId not the task's:
        ``InvalidParams``; a task in a terminal state: ``UnsupportedOperation``; a run
        awaiting nothing (running): ``UnsupportedOperation``."""
        message = params.message
        record = await self._visible(message.task_id, context)
        if record is None:
            raise TaskNotFoundError
        if message.context_id and message.context_id != context_of(record):
            raise InvalidParamsError(message="contextId is not the context of the task")
        if record.finished:
            raise UnsupportedOperationError(
                message=f"task {record.run_id} already ended ({record.status.value}):"
                " a task in a terminal state takes no more messages"
            )
        _check_modes(params)
        if params.configuration.HasField("task_push_notification_config"):
            await self._check_push_url(params.configuration.task_push_notification_config.url)
        ask = (
            await a2a_history.ask_message(self._services(), record, context_of(record))
            if continuation.awaits_reply(record)
            else None
        )
        try:
            await continuation.answer(
                self._services(), record, _reply_of(message, MessageToDict(params.metadata))
            )
        except continuation.NotAwaiting as exc:
            raise UnsupportedOperationError(
                message=f"{exc}: a message continues a task only while it is input-required"
            ) from None
        except continuation.BadReply as exc:
            raise InvalidParamsError(message=str(exc)) from None
        except TooMany as exc:
            raise _refused(exc) from None
        if ask is not None:  # answered: the exchange joins the task's history
            await a2a_history.store_exchange(self._services(), ask, message)
        if params.configuration.HasField("task_push_notification_config"):
            push = params.configuration.task_push_notification_config
            await self._set_push(record.run_id, push, self._caller(context))
        return await self._task(await self.runs.get(record.run_id) or record)

    async def _task(self, record: RunRecord, length: int | None = None) -> Task:
        """The run as an A2A task with the last ``length`` messages of its history."""
        [task] = await self._tasks([record], length)
        return task

    async def _tasks(self, records: list[RunRecord], length: int | None) -> list[Task]:
        if length == 0:
            return [snapshot(r, history=[]) for r in records]
        found = await a2a_history.histories(
            self._services(), records, [context_of(r) for r in records]
        )
        return [snapshot(r, history=a2a_history.last(found[r.run_id], length)) for r in records]

    async def _thread(self, context_id: str, caller: Principal) -> None:
        """The context's thread (a contextId is a thread id): made for this caller on its
        first message; another client's is refused."""
        threads = self._services().threads
        thread = await threads.get(context_id)
        if thread is None:
            await threads.create(owner_of(caller), context_id)
            thread = await threads.get(context_id)
        if thread is None or not may_see(caller, thread):
            raise InvalidParamsError(message="contextId is not one of this client's contexts")

    async def _check_push_url(self, url: str) -> None:
        try:
            await self._services().notifier.check(url)
        except BadWebhook as exc:
            raise InvalidParamsError(message=f"pushNotificationConfig.url: {exc}") from None

    async def _set_push(
        self, task_id: str, config: TaskPushNotificationConfig, caller: Principal
    ) -> TaskPushNotificationConfig:
        """Store ``config`` for the task; a task already in a state someone would be told
        of is announced to it at once (its change came before the config)."""
        notifier = self._services().notifier
        stored = PushConfig(
            task_id=task_id,
            config_id=config.id or uuid.uuid4().hex,
            owner=owner_of(caller),
            url=config.url,
            token=config.token or None,
            auth=MessageToDict(config.authentication) if config.HasField("authentication") else {},
        )
        await notifier.outbox.set_push(stored)
        record = await self.runs.get(task_id)
        if record is not None and record.status is not RunStatus.RUNNING:
            await notifier.changed([record])
        return _push_config(stored)

    def _slot(self, context: ServerCallContext, run_id: str | None = None) -> StreamSlot:
        """A stream of this caller's counted (per client, per run; A2A error past a cap)."""
        try:
            return self._services().streams.open(self._caller(context), run_id)
        except TooMany as exc:
            raise _refused(exc) from None

    async def _follow(
        self, task: Task, after: int, *, through_waits: bool = False
    ) -> AsyncGenerator[A2AEvent]:
        """The run's events with seq > ``after`` (translated from seq 1, so ``append`` is
        right), until its end. ``through_waits``: a run that stops to await its client
        (its log ends there, without ``done``) is waited for, and followed again once a
        reply set it going (a subscriber stays until the task is terminal, A2A 1.0 3.1.6)."""
        runs = self.runs
        record = await runs.get(task.id)
        if record is None:
            raise TaskNotFoundError
        translate = EventTranslator(record).translate
        seen = 0  # translated up to here
        while True:
            sub = await runs.events(task.id, seen)
            if sub is None:
                raise TaskNotFoundError
            try:
                while (batch := await sub.take()) is not None:
                    for e in batch:
                        seen = max(seen, e.seq)
                        event = translate(e)
                        if e.seq > after:
                            yield event
            finally:
                runs.unsubscribe(task.id, sub)
            if not through_waits or not await self._until_answered(task.id, seen):
                return

    async def _until_answered(self, task_id: str, seen: int) -> bool:
        """Wait while the run awaits its client with nothing new logged; True once it has
        more to follow (answered), False once it ended or is gone."""
        while True:
            await asyncio.sleep(WAIT_POLL_SECONDS)
            record = await self.runs.get(task_id)
            if record is None or (record.finished and record.last_seq <= seen):
                return False
            if not continuation.awaits_reply(record) or record.last_seq > seen:
                return True

    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Any]:
        continued = params.message.task_id or None
        slot = self._slot(context, continued)
        try:
            task = await self._start(params, context)
            if continued is None:
                slot.join(task.id)  # a new run: nobody else streams it yet
            yield task
            # a continued task: what happens after the answer; a new one: all of it
            after = int(task.metadata["mesh"]["seq"]) if continued else 0
            async for event in self._follow(task, after):
                yield event
        finally:
            slot.close()

    async def on_message_send(self, params: SendMessageRequest, context: ServerCallContext) -> Task:
        config = params.configuration
        length = _history(config.history_length if config.HasField("history_length") else None)
        task = await self._start(params, context)
        if config.return_immediately:
            kept = a2a_history.last(list(task.history), length)
            del task.history[:]
            task.history.extend(kept)
            return task
        done = await self.runs.outcome(task.id)
        assert done is not None
        return await self._task(done.record, length)

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
            async for event in self._follow(task, after, through_waits=True):
                yield event
        finally:
            slot.close()

    async def on_get_task(self, params: GetTaskRequest, context: ServerCallContext) -> Task | None:
        length = _history(params.history_length if params.HasField("history_length") else None)
        record = await self._visible(params.id, context)
        return None if record is None else await self._task(record, length)

    async def on_list_tasks(
        self, params: ListTasksRequest, context: ServerCallContext
    ) -> ListTasksResponse:
        size = params.page_size if params.HasField("page_size") else DEFAULT_PAGE
        if not 1 <= size <= MAX_PAGE:
            raise InvalidParamsError(message=f"pageSize must be between 1 and {MAX_PAGE}")
        length = _history(params.history_length if params.HasField("history_length") else None)
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
            tasks=await self._tasks(page, length),
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
        return await self._task(latest or record)

    async def on_create_task_push_notification_config(
        self, params: TaskPushNotificationConfig, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        if not params.url:
            raise InvalidParamsError(message="url is required")
        if await self._visible(params.task_id, context) is None:
            raise TaskNotFoundError
        await self._check_push_url(params.url)
        return await self._set_push(params.task_id, params, self._caller(context))

    async def on_get_task_push_notification_config(
        self, params: GetTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        if await self._visible(params.task_id, context) is None:
            raise TaskNotFoundError
        found = await self._services().notifier.outbox.get_push(params.task_id, params.id)
        if found is None:
            raise TaskNotFoundError(message=f"no push notification config {params.id!r}")
        return _push_config(found)

    async def on_list_task_push_notification_configs(
        self, params: ListTaskPushNotificationConfigsRequest, context: ServerCallContext
    ) -> ListTaskPushNotificationConfigsResponse:
        if await self._visible(params.task_id, context) is None:
            raise TaskNotFoundError
        found = await self._services().notifier.outbox.list_push(params.task_id)
        return ListTaskPushNotificationConfigsResponse(configs=[_push_config(c) for c in found])

    async def on_delete_task_push_notification_config(
        self, params: DeleteTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> None:
        if await self._visible(params.task_id, context) is None:
            raise TaskNotFoundError
        await self._services().notifier.outbox.delete_push(params.task_id, params.id)

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
            streaming=True, push_notifications=True, extensions=extensions
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


def _push_config(c: PushConfig) -> TaskPushNotificationConfig:
    config = TaskPushNotificationConfig(id=c.config_id, task_id=c.task_id, url=c.url)
    if c.token:
        config.token = c.token
    if c.auth.get("scheme"):
        config.authentication.scheme = str(c.auth["scheme"])
        config.authentication.credentials = str(c.auth.get("credentials") or "")
    return config


def push_body(record: RunRecord) -> str:
    """An A2A push notification's body: a ``StreamResponse`` with the task as it is now."""
    return json.dumps(MessageToDict(StreamResponse(task=snapshot(record, history=[]))))


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


def add_a2a_routes(app: FastAPI, *, security: Mapping[str, SecurityScheme] | None = None) -> None:
    """Add the card, the JSON-RPC endpoint and the REST binding to ``app``'s routes (at the
    end; ``api.a2a_route.LazyA2A`` puts them where it stood, with the middlewares in front
    of them). ``security`` fills the card's ``securitySchemes`` (the schemes the API checks)."""

    def services() -> Services:
        svc: Services = app.state.services
        return svc

    handler = MeshRequestHandler(services, lambda: getattr(app.state, "mesh_keys", None))
    cache = CardCache()

    async def agent_card(request: Request) -> Response:
        card = build_card(services(), str(request.base_url), security)
        return cache.respond(agent_card_to_dict(card), request)  # with its caching headers

    app.add_api_route(AGENT_CARD_PATH, agent_card, methods=["GET"], tags=["A2A: Agent Card"])
    # The REST binding in a Mount of its own: its tenant routes (``/{tenant}/...``) would
    # otherwise match every two-segment path of the app.
    add_a2a_routes_to_fastapi(
        app,
        jsonrpc_routes=create_jsonrpc_routes(handler, RPC_PATH, enable_v0_3_compat=True),
        rest_routes=[Mount(REST_PATH, routes=create_rest_routes(handler))],
    )
