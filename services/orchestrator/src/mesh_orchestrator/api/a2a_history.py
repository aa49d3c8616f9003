"""An A2A task's history: every message of the exchange, in order, from the run store.

The first message is the run's query (the run row keeps it). Each message that continues
the task (``SendMessage`` with its ``taskId``, answering a question or an approval) is
stored with the agent's message it answers before it (``runs.store.messages``): the
question a worker asked (``<task>: <question>``, with its choices) or the approval
request, as the agent's message of the ``INPUT_REQUIRED`` status. ``GetTask``,
``ListTasks`` and ``SendMessage`` show the last ``historyLength`` of them (all when not
given, none for 0), from any replica and after a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from a2a.types.a2a_pb2 import Message, Part, Role
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError

from mesh_contracts import RunStatus
from mesh_orchestrator.api.a2a_mapping import query_message
from mesh_orchestrator.runs.events import RelayedEvent
from mesh_orchestrator.runs.store.base import RunRecord
from mesh_orchestrator.services import Services

LOG_READ_SECONDS = 5.0  # reading a parked run's log for its question, at most


def parse(stored: Sequence[dict[str, Any]]) -> list[Message]:
    """Stored rows as messages (a row that no longer parses is left out)."""
    out: list[Message] = []
    for row in stored:
        m = Message()
        try:
            ParseDict(row, m, ignore_unknown_fields=True)
        except (ParseError, TypeError, ValueError):
            continue
        out.append(m)
    return out


def last(messages: list[Message], length: int | None) -> list[Message]:
    """The last ``length`` messages (all for None, none for 0): A2A's ``historyLength``."""
    if length is None:
        return messages
    return messages[max(0, len(messages) - length) :] if length else []


async def _log(svc: Services, run_id: str) -> list[RelayedEvent]:
    """The run's stored log (a parked run's ends where it parked)."""
    feed = await svc.runs.events(run_id, 0)
    if feed is None:
        return []
    out: list[RelayedEvent] = []
    try:
        async with asyncio.timeout(LOG_READ_SECONDS):
            while (batch := await feed.take()) is not None:
                out += batch
    except TimeoutError:
        pass
    finally:
        svc.runs.unsubscribe(run_id, feed)
    return out


async def ask_text(svc: Services, record: RunRecord) -> str:
    """What the run, awaiting its client, asks: its open questions, or its approval."""
    if record.status is RunStatus.INPUT_REQUIRED:
        open_tasks = await svc.runs.open_questions(record.run_id)
        asked: dict[str, dict[str, Any]] = {}
        for e in await _log(svc, record.run_id):
            if e.task_id in open_tasks and e.data.get("status") == "input_required":
                asked[e.task_id] = e.data
        lines = []
        for task_id, d in asked.items():
            choices = d.get("choices")
            lines.append(
                f"{task_id}: {d.get('question')}"
                + (f" (one of: {', '.join(map(str, choices))})" if choices else "")
            )
        return "\n".join(lines) or "input required"
    tasks = [f"{n.get('task_id')} ({n.get('capability')})" for n in record.plan or []]
    return "awaiting approval of the plan" + (": " + ", ".join(tasks) if tasks else "")


async def ask_message(svc: Services, record: RunRecord, ctx: str) -> Message:
    """The agent's message of ``record``, a run awaiting its client: what it asks now."""
    n = len((await svc.messages.history([record.run_id])).get(record.run_id, []))
    return Message(
        message_id=f"{record.run_id}-ask-{n // 2 + 1}",
        context_id=ctx,
        task_id=record.run_id,
        role=Role.ROLE_AGENT,
        parts=[Part(text=await ask_text(svc, record))],
    )


async def store_exchange(svc: Services, ask: Message, message: Message) -> None:
    """Store the agent's ``ask`` and the client's ``message`` that answered it, after the
    task's earlier messages (both name the task and its context as ``ask`` does)."""
    reply = Message()
    reply.CopyFrom(message)
    reply.task_id, reply.context_id = ask.task_id, ask.context_id
    if reply.role == Role.ROLE_UNSPECIFIED:
        reply.role = Role.ROLE_USER
    await svc.messages.add(ask.task_id, [MessageToDict(ask), MessageToDict(reply)])


async def histories(
    svc: Services, records: Sequence[RunRecord], contexts: Sequence[str]
) -> dict[str, list[Message]]:
    """Each task's whole history (query first, then what was stored), by run id."""
    stored = await svc.messages.history([r.run_id for r in records])
    return {
        r.run_id: ([query_message(r, ctx)] if r.query else []) + parse(stored.get(r.run_id, []))
        for r, ctx in zip(records, contexts, strict=True)
    }
