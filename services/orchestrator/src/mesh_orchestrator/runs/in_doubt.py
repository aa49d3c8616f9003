"""Sub-tasks whose call was out when their run changed hands: re-attach, restart, or doubt.

A replica that resumes a run finds in its log the tasks last shown ``running``
(``Recovered.running``). For each, the executor's ``in_flight`` says what to do: an agent
that is ``safe_to_retry`` simply runs again (a new attempt, a new idempotency key); one that
is not is asked by the attempt's key (``GET /executions/{key}`` on the instance that took
it). When the worker knows the key (running or finished), the call is made again with it
and re-attaches to the execution or replays its result (``pinned``). When nobody can say
(the instance is gone, or forgot the key), the task is ``in_doubt``: with
``ORCH_IN_DOUBT=park`` the run parks ``awaiting_approval`` until a person decides (``rerun``:
a new attempt; ``fail``: the task fails and its dependents are skipped), with ``fail`` the
task fails at once, clearly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from mesh_contracts import NodeStatus, SubTask, TaskStatus
from mesh_orchestrator.relay.calls import idempotency_key
from mesh_orchestrator.runs.emitter import RunEvents
from mesh_orchestrator.runs.resume import InFlight, Recovered


class InFlightCheck(Protocol):
    """What the executor answers about a resumed run's tasks (``relay.executor``)."""

    async def in_flight(
        self, run_id: str, task_id: str, agent_id: str | None, instance_id: str | None,
        attempt: int, key: str | None = None,
    ) -> str:  # fmt: skip
        """``restart``, ``reattach`` or ``in_doubt`` for a task the log shows running."""
        ...

    async def unlogged(self, t: SubTask, keys: list[str]) -> tuple[str, str] | None:
        """The instance that knows one of ``keys`` of ``t``'s next call although the log
        never said it started (its owner died before storing that), and that key, for an
        agent not safe to retry; else None."""
        ...


class InDoubtPolicy(StrEnum):
    PARK = "park"  # the run waits for a person's decision (approve with rerun / fail)
    FAIL = "fail"  # the task fails at once; the rest of the run goes on


class Decision(StrEnum):
    RERUN = "rerun"
    FAIL = "fail"


@dataclass
class Settled:
    """What became of a resumed run's in-flight tasks."""

    pinned: dict[str, tuple[str, int, str]] = field(default_factory=dict)
    in_doubt: dict[str, InFlight] = field(default_factory=dict)


#: The most epochs a resumed run asks a task's unlogged call under (the owners since the
#: last one its log names; in practice one).
MAX_UNLOGGED_EPOCHS = 8


async def settle(
    check: InFlightCheck | None, run_id: str, rec: Recovered, epoch: int = 0
) -> Settled:
    """Ask ``check`` about each task of ``rec.running`` (None: every one restarts, as a
    mesh without keys does): by the key its ``running`` status logged. A task the log never
    saw start may have a call out under the key of its next attempt (``next_attempt``) and
    an epoch between the last one the log names and this owner's (``epoch``)."""
    out = Settled()
    if check is None:
        return out
    for task_id, f in rec.running.items():
        key = f.key or idempotency_key(run_id, task_id, f.attempt)
        verdict = await check.in_flight(run_id, task_id, f.agent_id, f.instance_id, f.attempt, key)
        if verdict == "reattach" and f.instance_id is not None:
            out.pinned[task_id] = (f.instance_id, f.attempt, key)
        elif verdict == "in_doubt":
            out.in_doubt[task_id] = f
    seen = set(rec.done) | set(rec.running) | set(rec.in_doubt)
    epochs = range(max(rec.logged_epoch, epoch - MAX_UNLOGGED_EPOCHS), max(epoch, 1))
    for t in rec.plan.tasks if rec.plan is not None else []:
        if t.task_id not in seen:  # a call may be out that the log never heard of
            attempt = rec.next_attempt(t.task_id)
            keys = [idempotency_key(run_id, t.task_id, attempt, e) for e in reversed(epochs)]
            found = await check.unlogged(t, keys or [idempotency_key(run_id, t.task_id, attempt)])
            if found is not None:
                out.pinned[t.task_id] = (found[0], attempt, found[1])
    return out


def announce(events: RunEvents, run_id: str, doubt: dict[str, InFlight]) -> None:
    """One ``in_doubt`` status per task, naming the attempt's key and instance."""
    for task_id, f in doubt.items():
        key = f.key or idempotency_key(run_id, task_id, f.attempt)
        where = f.instance_id or "an unknown instance"
        events.emit(
            TaskStatus(
                status=NodeStatus.IN_DOUBT,
                reason=(
                    f"attempt {f.attempt} (key {key}) was running on {where} when the run "
                    "changed hands; the agent is not safe to retry and no worker knows the key"
                ),
                agent_id=f.agent_id,
                instance_id=f.instance_id,
                endpoint=f.endpoint,
                attempt=f.attempt,
                key=key,
            ),
            task_id,
            f.agent_id,
        )


def fail_doubted(
    events: RunEvents, doubt: dict[str, InFlight], why: str
) -> dict[str, dict[str, object]]:
    """Fail the tasks in doubt (``why`` says who decided); their ``results`` entries, for
    the executor's ``done`` (their dependents are then skipped, nothing runs them again)."""
    out: dict[str, dict[str, object]] = {}
    for task_id, f in doubt.items():
        error = f"in doubt after attempt {f.attempt}: {why}"
        events.emit(TaskStatus(status=NodeStatus.FAILED, reason=error), task_id, f.agent_id)
        out[task_id] = {"status": "failed", "output": None, "error": error, "agent_id": f.agent_id}
    return out
