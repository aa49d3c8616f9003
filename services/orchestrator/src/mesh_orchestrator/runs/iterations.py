"""How far each loop of a run got, as its stored log tells it: a resumed loop goes on.

A loop's progress lives in the run's event log like everything else a run did: an
``iterating`` status opens iteration k (of the check task itself, or of a member of its
group loop, naming the check in ``loop``), the check's ``result`` and ``completed`` end
it, and a ``condition`` status (``repeat_until``) says whether another one follows. A
replica that resumes the run reads this into a ``LoopProgress`` per loop and hands it to
the executor (``resume_loops``), which continues at iteration k (k+1 when k had finished
and its condition was false) instead of iteration 1: iterations are counted for the run,
across owners, and ``max_iterations`` bounds them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mesh_contracts import ExecutionPlan, StreamEvent

__all__ = ["LoopProgress", "loop_progress"]


@dataclass
class LoopProgress:
    """One loop (its check task ``repeat_until``) as far as the log tells it.

    ``iteration``: the latest iteration started; ``finished``: the check completed it, with
    ``output``; ``evaluated``: the ``repeat_until`` after it (None when not evaluated yet);
    ``exhausted``: it was false at the last allowed iteration; ``previous``: the check's
    output of the iteration before; ``members_done``: the group's tasks that completed the
    latest iteration (the others run it again first); ``started``: the first attempt of the
    latest iteration, by task (each iteration has ``max_attempts`` of its own)."""

    iteration: int = 1
    finished: bool = False
    output: Any = None
    evaluated: bool | None = None
    exhausted: bool = False
    previous: Any = None
    members_done: list[str] = field(default_factory=list)
    started: dict[str, int] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        """The loop is over: its last iteration finished and no other follows."""
        return self.finished and (self.evaluated is True or self.exhausted)

    @property
    def under_way(self) -> bool:
        """There is something to carry over: an iteration past the first started, or the
        first finished (its condition may still be unread)."""
        return not self.ended and (self.iteration > 1 or self.finished)

    def public(self) -> dict[str, Any]:
        """As the run's graph state holds it (plain JSON)."""
        return {
            "iteration": self.iteration,
            "finished": self.finished,
            "output": self.output,
            "evaluated": self.evaluated,
            "previous": self.previous,
            "members_done": list(self.members_done),
            "started": dict(self.started),
        }


def loop_progress(plan: ExecutionPlan, events: list[StreamEvent]) -> dict[str, LoopProgress]:
    """Every loop of ``plan`` (keyed by its check task) as ``events`` (the run's stored
    log, in seq order) tell it."""
    out: dict[str, LoopProgress] = {}
    for check in plan.tasks:
        if check.repeat_until is None:
            continue
        p = LoopProgress()
        members = set(check.repeat_tasks)
        own = 1  # the iteration the check's own events belong to
        member_iter: dict[str, int] = {}
        result: Any = None
        done_output: Any = None  # the check's output of the last iteration it finished
        for e in events:
            if e.task_id != check.task_id and e.task_id not in members:
                continue
            data = e.data
            status = data.get("status") if e.type == "status" else None
            if status == "iterating" and data.get("loop") == check.task_id:
                k = int(data.get("iteration") or 1)
                if k > p.iteration:  # the first event of a new iteration
                    p.iteration, p.previous = k, done_output
                    p.finished, p.evaluated, p.exhausted = False, None, False
                    p.members_done, p.started = [], {}
                if isinstance(data.get("attempt"), int):
                    p.started[str(e.task_id)] = data["attempt"]
                if e.task_id == check.task_id:
                    own = k
                else:
                    member_iter[str(e.task_id)] = k
            elif e.task_id == check.task_id:
                if e.type == "result":
                    result = data.get("output")
                elif status == "completed" and own == p.iteration:
                    p.finished, p.output, done_output = True, result, result
                elif status == "condition" and data.get("kind") == "repeat_until":
                    p.evaluated = bool(data.get("result"))
                    p.exhausted = bool(data.get("exhausted"))
            elif status == "completed" and member_iter.get(str(e.task_id), 1) == p.iteration:
                p.members_done.append(str(e.task_id))
        out[check.task_id] = p
    return out
