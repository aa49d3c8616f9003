"""Runs as A2A tasks: a run's record as a ``Task``, its events as A2A stream events.

The A2A task id is the run id. Every run event becomes exactly one A2A event, and each
carries the run event's ``seq`` (with its type, sub-task and agent) in
``metadata.mesh``: the cursor a subscriber hands back in ``Last-Event-ID`` to resume.

* ``run`` → status ``submitted``; ``plan``, ``status``, ``progress``, a sub-task's
  ``error``, a run ``error`` → status ``working`` with a one-line text message (the mesh
  payload in ``metadata.mesh.data``);
* ``token`` and ``message`` → an artifact update of the sub-task's artifact
  (``artifactId`` = the task id, ``<task>#<attempt>`` for a retried attempt): the first
  chunk with ``append: false``, the rest ``append: true``;
* a sub-task's ``result`` closes its artifact (``lastChunk: true``; a text or data part
  when nothing streamed before, an empty text part when it did);
* a worker ``artifact`` (an image, a LoRA adapter) → its own artifact ``<task>/<name>``;
* the run's ``result`` (the synthesis) → the artifact ``answer``, the last one;
* ``done`` → the final status: ``completed`` (also for ``partial``, named in metadata),
  ``failed``, ``canceled``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from a2a.types.a2a_pb2 import (
    Artifact,
    Message,
    Part,
    Role,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from google.protobuf.json_format import ParseDict
from google.protobuf.struct_pb2 import Struct, Value
from google.protobuf.timestamp_pb2 import Timestamp

from mesh_contracts import RunStatus
from mesh_orchestrator.runs.events import RelayedEvent
from mesh_orchestrator.runs.store.base import RunRecord

A2AEvent = TaskStatusUpdateEvent | TaskArtifactUpdateEvent
ANSWER = "answer"
CONTEXT_OPTION = "a2a_context_id"  # where a run keeps its A2A context id (record.options)

STATES = {
    RunStatus.RUNNING: TaskState.TASK_STATE_WORKING,
    RunStatus.COMPLETED: TaskState.TASK_STATE_COMPLETED,
    RunStatus.PARTIAL: TaskState.TASK_STATE_COMPLETED,
    RunStatus.FAILED: TaskState.TASK_STATE_FAILED,
    RunStatus.CANCELLED: TaskState.TASK_STATE_CANCELED,
    RunStatus.INTERRUPTED: TaskState.TASK_STATE_FAILED,
    RunStatus.AWAITING_APPROVAL: TaskState.TASK_STATE_INPUT_REQUIRED,
    # A2A has no paused state: a paused task is still the server's to finish (resume).
    RunStatus.PAUSED: TaskState.TASK_STATE_WORKING,
    RunStatus.INPUT_REQUIRED: TaskState.TASK_STATE_INPUT_REQUIRED,
    RunStatus.REJECTED: TaskState.TASK_STATE_REJECTED,
}


def run_status(state: TaskState) -> RunStatus | None:
    """The run status an A2A ``ListTasks`` state filter selects (None: any)."""
    for status, s in STATES.items():
        if s == state and status is not RunStatus.PARTIAL:
            return status
    return None


def struct(d: Mapping[str, Any]) -> Struct:
    s = Struct()
    ParseDict(dict(d), s)
    return s


def _value(v: Any) -> Value:
    out = Value()
    ParseDict(v, out)
    return out


def context_of(record: RunRecord) -> str:
    return str(record.options.get(CONTEXT_OPTION) or record.run_id)


def _stamp(ts: float) -> Timestamp:
    t = Timestamp()
    t.FromNanoseconds(int(ts * 1e9))
    return t


def _agent_text(text: str, run_id: str, ctx: str, message_id: str) -> Message:
    return Message(
        message_id=message_id,
        context_id=ctx,
        task_id=run_id,
        role=Role.ROLE_AGENT,
        parts=[Part(text=text)],
    )


def snapshot(record: RunRecord, *, history: Sequence[Message] | None = None) -> Task:
    """The run as an A2A task now: its state, its answer (the ``answer`` artifact once the
    run has one), ``history`` (None: the query alone, as the first message; the whole
    exchange is ``api.a2a_history``'s to read); ``metadata.mesh`` holds the
    run's ``seq`` (the cursor to resume from), status and plan with node states. The
    status timestamp is when the run ended, or, in progress, when it began (what
    ``ListTasks``' ``statusTimestampAfter`` filters on): the same task twice is the same
    snapshot, so every subscriber of a task sees the same first event."""
    ctx = context_of(record)
    state = STATES.get(record.status, TaskState.TASK_STATE_WORKING)
    if record.status is RunStatus.RUNNING and record.last_seq <= 1:
        state = TaskState.TASK_STATE_SUBMITTED
    task = Task(
        id=record.run_id,
        context_id=ctx,
        status=TaskStatus(state=state, timestamp=_stamp(record.finished_at or record.created_at)),
        metadata=struct(
            {
                "mesh": {
                    "seq": record.last_seq,
                    "status": record.status.value,
                    "plan": [plan_node(n) for n in record.plan or []],
                }
            }
        ),
    )
    if record.answer is not None:
        task.artifacts.append(
            Artifact(artifact_id=ANSWER, name=ANSWER, parts=[Part(text=record.answer)])
        )
    if history is not None:
        task.history.extend(history)
    elif record.query:
        task.history.append(query_message(record, ctx))
    return task


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def plan_node(node: Mapping[str, Any]) -> dict[str, Any]:
    """A plan node as ``metadata.mesh.plan`` shows it: the mesh's field names in camelCase
    (A2A's JSON convention, 5.5), in ``requires`` and a ``condition`` too; what a client or
    worker wrote (``input``, ``output``, a condition's ``values``) as it is."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("requires", "condition") and isinstance(value, Mapping):
            value = {_camel(k): v for k, v in value.items()}
        out[_camel(key)] = value
    return out


def query_message(record: RunRecord, context_id: str) -> Message:
    """The task's first message: the run's query, as the user's."""
    return Message(
        message_id=f"{record.run_id}-query",
        context_id=context_id,
        task_id=record.run_id,
        role=Role.ROLE_USER,
        parts=[Part(text=record.query)],
    )


def event_line(e: RelayedEvent) -> str:
    """A one-line text for a status-like run event."""
    d, who = e.data, e.task_id
    if e.type == "plan":
        tasks = d.get("plan", {}).get("tasks", [])
        return "plan: " + ", ".join(f"{t.get('task_id')} ({t.get('capability')})" for t in tasks)
    if e.type == "status":
        if d.get("phase") == "budget":  # what the run used so far (every run reports it)
            used = d.get("used")
            used = used if isinstance(used, dict) else {}
            return f"budget {d.get('status')}: " + ", ".join(f"{k} {v}" for k, v in used.items())
        if "phase" in d:
            return f"planning: {d.get('status')}" + (f" ({d['reason']})" if d.get("reason") else "")
        bits = [f"{who}: {d.get('status')}"]
        if d.get("agent_id") or e.agent_id:
            bits.append(f"on {d.get('instance_id') or d.get('agent_id') or e.agent_id}")
        if d.get("reason"):
            bits.append(f"({d['reason']})")
        return " ".join(bits)
    if e.type == "progress":
        step = f"{d.get('step')}/{d.get('total')}" if d.get("step") is not None else None
        return " ".join(x for x in (f"{who}: progress", step, d.get("message")) if x)
    if e.type == "error":
        return f"{who}: {d.get('error')}" if who else f"error: {d.get('error')}"
    return e.type


class EventTranslator:
    """One reader's translation of a run's events, in seq order from seq 1 (it remembers
    which artifacts have started, so ``append`` is right for every chunk)."""

    def __init__(self, record: RunRecord) -> None:
        self.run_id = record.run_id
        self.ctx = context_of(record)
        self.started: set[str] = set()

    def _meta(self, e: RelayedEvent, full: bool) -> Struct:
        mesh: dict[str, Any] = {"seq": e.seq, "type": e.type}
        if e.task_id is not None:
            mesh["taskId"] = e.task_id
        if e.agent_id is not None:
            mesh["agentId"] = e.agent_id
        if full:
            mesh["data"] = e.data
        elif "attempt" in e.data:
            mesh["attempt"] = e.data["attempt"]
        return struct({"mesh": mesh})

    def _status(self, e: RelayedEvent, state: TaskState, text: str | None) -> TaskStatusUpdateEvent:
        status = TaskStatus(state=state, timestamp=_stamp(e.ts))
        if text:
            status.message.CopyFrom(
                _agent_text(text, self.run_id, self.ctx, f"{self.run_id}-{e.seq}")
            )
        return TaskStatusUpdateEvent(
            task_id=self.run_id, context_id=self.ctx, status=status, metadata=self._meta(e, True)
        )

    def _chunk(
        self, e: RelayedEvent, artifact_id: str, parts: list[Part], *, last: bool
    ) -> TaskArtifactUpdateEvent:
        append = artifact_id in self.started
        self.started.add(artifact_id)
        name = f"{e.task_id} ({e.agent_id})" if e.agent_id else str(e.task_id)
        return TaskArtifactUpdateEvent(
            task_id=self.run_id,
            context_id=self.ctx,
            artifact=Artifact(artifact_id=artifact_id, name=name, parts=parts),
            append=append,
            last_chunk=last,
            metadata=self._meta(e, e.type not in ("token", "message")),
        )

    def _task_artifact(self, e: RelayedEvent) -> str:
        attempt = e.data.get("attempt")
        base = str(e.task_id)
        return base if attempt in (None, 1) else f"{base}#{attempt}"

    def translate(self, e: RelayedEvent) -> A2AEvent:
        d = e.data
        if e.type == "run":
            return self._status(e, TaskState.TASK_STATE_SUBMITTED, None)
        if e.type == "done":
            status = RunStatus(d.get("status", RunStatus.FAILED))
            return self._status(e, STATES[status], f"run {status.value}")
        if e.task_id is None and e.type == "result":
            return TaskArtifactUpdateEvent(
                task_id=self.run_id,
                context_id=self.ctx,
                artifact=Artifact(
                    artifact_id=ANSWER, name=ANSWER, parts=[Part(text=str(d.get("answer", "")))]
                ),
                append=False,
                last_chunk=True,
                metadata=self._meta(e, True),
            )
        if e.task_id is not None:
            art = self._task_artifact(e)
            if e.type == "token":
                return self._chunk(e, art, [Part(text=str(d.get("token", "")))], last=False)
            if e.type == "message":
                sep = "\n\n" if art in self.started else ""
                text = sep + str(d.get("content", ""))
                return self._chunk(e, art, [Part(text=text)], last=False)
            if e.type == "result":
                out = d.get("output")
                if art in self.started:
                    part = Part(text="")
                elif isinstance(out, str):
                    part = Part(text=out)
                else:
                    part = Part(data=_value(out), media_type="application/json")
                return self._chunk(e, art, [part], last=True)
            if e.type == "artifact":
                name = str(d.get("name") or "artifact")
                part = Part(filename=name, media_type=str(d.get("content_type") or ""))
                if d.get("url"):
                    part.url = str(d["url"])
                elif d.get("data_base64"):
                    part.raw = base64.b64decode(str(d["data_base64"]))
                else:
                    part.data.CopyFrom(_value({k: v for k, v in d.items() if k != "attempt"}))
                return self._chunk(e, f"{e.task_id}/{name}", [part], last=True)
        return self._status(e, TaskState.TASK_STATE_WORKING, event_line(e))
