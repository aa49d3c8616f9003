"""A client's message to a run that waits for it: the answer that lets the run go on.

One generic hook, ``answer(svc, record, reply)``: given a run awaiting something of its
client and what the client said (``Reply``: the message's text and its data), apply the
reply as the answer, or raise ``NotAwaiting`` when the run awaits nothing a message can
give. A2A's "continue a task" (a ``SendMessage`` naming the task's ``taskId``) is this
hook; another door (a chat's follow-up, a worker's mid-run question) may call it too.

What a run can await now:

* **approval** (``options.approval = "required"``; A2A ``INPUT_REQUIRED``): the reply
  approves it (the run goes on with its announced plan), approves it with a replacement
  ``plan`` (data ``{"plan": ExecutionPlan}``), or rejects it (data ``{"approve": false,
  "reason": "..."}``, or the text alone one of ``REJECT_WORDS``). Any other reply
  approves: the client continues the task it asked to hold.
* **a worker's question** (``input_required``; A2A ``INPUT_REQUIRED`` too): the reply is
  the answer to the run's first open question, as ``POST /v1/runs/{id}/input`` takes it
  (data ``{"answer": ...}``, else the text), checked against the question's choices or
  schema (``BadReply`` when it does not fit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from mesh_contracts import ExecutionPlan, RunStatus
from mesh_orchestrator.api.limits import check_approval
from mesh_orchestrator.runs.approval import ApprovalOutcome
from mesh_orchestrator.runs.service import BadAnswer
from mesh_orchestrator.runs.store.base import RunRecord
from mesh_orchestrator.services import Services

REJECT_WORDS = frozenset({"no", "reject", "rejected", "deny", "denied", "decline"})


@dataclass(frozen=True)
class Reply:
    """What a client said to a waiting run: its text and its structured data."""

    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)


class NotAwaiting(Exception):
    """The run awaits nothing a message can give (running, or ended meanwhile)."""


class BadReply(ValueError):
    """The reply's data is not an answer the run can take (a short reason)."""


def awaits_reply(record: RunRecord) -> bool:
    """Whether ``record`` waits for its client (what ``answer`` can act on)."""
    return record.status in (RunStatus.AWAITING_APPROVAL, RunStatus.INPUT_REQUIRED)


async def _answer_question(svc: Services, record: RunRecord, reply: Reply) -> RunRecord:
    """The reply as the answer to the run's first open question."""
    asking = await svc.runs.open_questions(record.run_id)
    if not asking:
        raise NotAwaiting(f"run {record.run_id} asks nothing")
    given: Any = reply.data["answer"] if "answer" in reply.data else reply.text.strip()
    try:
        await svc.runs.answer(record.run_id, asking[0], given)
    except BadAnswer as exc:
        raise BadReply(str(exc)[:300]) from None
    return await svc.runs.get(record.run_id) or record


async def answer(svc: Services, record: RunRecord, reply: Reply) -> RunRecord:
    """Apply ``reply`` to ``record``, a run awaiting its client; returns the run's record.
    Raises ``NotAwaiting`` (nothing to answer), ``BadReply`` (the data is not an answer)
    or the quota refusal of approving (``TooMany``)."""
    if record.status is RunStatus.INPUT_REQUIRED:
        return await _answer_question(svc, record, reply)
    if record.status is not RunStatus.AWAITING_APPROVAL:
        raise NotAwaiting(f"run {record.run_id} awaits nothing ({record.status.value})")
    data = reply.data
    rejected = data.get("approve") is False or (
        not data and reply.text.strip().lower().rstrip(".!") in REJECT_WORDS
    )
    if rejected:
        reason = str(data.get("reason") or reply.text.strip() or "rejected")[:500]
        outcome, run = await svc.runs.reject(record.run_id, reason)
    else:
        plan = None
        if data.get("plan") is not None:
            try:
                plan = ExecutionPlan.model_validate(data["plan"])
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise BadReply(f"plan.{where}: {first['msg']}"[:300]) from None
        await check_approval(svc, record)
        outcome, run = await svc.runs.approve(record.run_id, plan)
    if outcome is not ApprovalOutcome.DONE:
        raise NotAwaiting(f"run {record.run_id} no longer awaits approval")
    return run or record
