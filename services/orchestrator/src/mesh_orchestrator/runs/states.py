"""Every run's starting state, in one place: new, taken up from its log, approved.

``RunStates`` knows the limits every run starts with (replans, the planner's LLM attempts)
and builds the ``RunState`` each path hands the run's driver, always through
``graph.policy.initial_state``: ``new`` for ``RunService.start``, ``resumed`` for a run
taken up from its log (an orphan, a handover, a resume after a pause, an answer),
``approved`` for a run approved after it was parked. No other code writes a starting key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mesh_contracts import ExecutionPlan
from mesh_orchestrator.graph.policy import RunState, initial_state
from mesh_orchestrator.runs.resume import Recovered
from mesh_orchestrator.runs.store.base import RunRecord


@dataclass(frozen=True)
class RunStates:
    """The starting states of runs (see the module docstring)."""

    max_replans: int = 1
    max_llm_attempts: int = 2

    def new(
        self,
        run_id: str,
        owner: str | None,
        query: str,
        options: dict[str, Any],
        plan: ExecutionPlan | None,
    ) -> RunState:
        """A new run's: with ``plan`` (the client's) it goes straight to resolve."""
        return initial_state(
            run_id,
            owner,
            query,
            options,
            max_replans=self.max_replans,
            max_llm_attempts=self.max_llm_attempts,
            plan=plan,
        )

    def resumed(
        self,
        record: RunRecord,
        rec: Recovered,
        *,
        failed: dict[str, dict[str, Any]],
        pinned: dict[str, tuple[str, int, str]],
    ) -> RunState:
        """A run taken up from its log (``rec``): planned already, it goes straight to
        resolve, then execute, keeping its completed sub-tasks (with ``failed``, the tasks
        in doubt failed now; only once its plan event is stored, else that goes out again),
        its attempts and its answers; ``pinned``: calls asked again of the instance that
        knows their key. A run that had asked for approval asks again unless its log says
        it had it."""
        planned = rec.plan is not None
        return initial_state(
            record.run_id,
            record.owner,
            record.query,
            record.options,
            max_replans=self.max_replans,
            max_llm_attempts=self.max_llm_attempts,
            plan=rec.plan,
            planner=(rec.planner or rec.plan.planner) if rec.plan is not None else "client",
            reason=rec.reason or "",
            approved=rec.approved,
            budget_used=rec.budget_used,
            resume_attempts=rec.attempts if planned else None,
            resume_inputs=rec.inputs if planned else None,
            resume_asked=rec.resume if planned else None,
            resume_loops={k: p.public() for k, p in rec.loops.items()} if planned else None,
            resume_done=rec.done | failed if planned and rec.plan_stored else None,
            resume_pinned=pinned if planned and pinned else None,
        )

    def approved(
        self, record: RunRecord, plan: ExecutionPlan, rec: Recovered, *, done: dict[str, Any] | None
    ) -> RunState:
        """A run approved after it was parked: it runs ``plan`` (announced already) and is
        not replanned behind the approver's back. ``done``: a run parked for its tasks in
        doubt goes on from its log (what completed, and those tasks as decided, with its
        attempts, its answers and its loops where they were: a loop in doubt at iteration 3
        runs iteration 3 again, not 1); None: it runs from the start of its plan."""
        going_on = done is not None
        return initial_state(
            record.run_id,
            record.owner,
            record.query,
            record.options,
            max_replans=0,  # what was approved runs; it is not replanned behind one's back
            max_llm_attempts=self.max_llm_attempts,
            plan=plan,
            planner=rec.planner or plan.planner,
            reason=rec.reason or "",
            approved=True,
            plan_announced=True,
            budget_used=rec.budget_used,
            resume_done=done,
            resume_attempts=rec.attempts if going_on else None,
            resume_inputs=rec.inputs if going_on else None,
            resume_asked=rec.resume if going_on else None,
            resume_loops={k: p.public() for k, p in rec.loops.items()} if going_on else None,
        )
