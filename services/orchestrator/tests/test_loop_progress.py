"""How far a loop got, read from a run's stored log (``runs.iterations``), and what a resumed
run keeps of it (``runs.resume.recover``): the basis of a loop that goes on after its owner
died instead of starting again at iteration 1."""

from __future__ import annotations

from typing import Any

from mesh_contracts import ExecutionPlan, StreamEvent
from mesh_orchestrator.runs.iterations import loop_progress
from mesh_orchestrator.runs.resume import recover
from mesh_orchestrator.runs.states import RunStates
from mesh_orchestrator.runs.store import RunRecord

SOLO = ExecutionPlan.model_validate(
    {
        "tasks": [
            {"task_id": "r", "capability": "x", "repeat_until": "output.ok", "max_iterations": 3}
        ]
    }
)
GROUP = ExecutionPlan.model_validate(
    {
        "tasks": [
            {"task_id": "w", "capability": "x"},
            {
                "task_id": "r",
                "capability": "x",
                "depends_on": ["w"],
                "repeat_until": "output.ok",
                "repeat_tasks": ["w"],
                "max_iterations": 4,
            },
        ]
    }
)


class Log:
    """A run's log, written the way the executor writes a loop's events."""

    def __init__(self, plan: ExecutionPlan) -> None:
        self.events: list[StreamEvent] = []
        self.add("plan", {"plan": plan.model_dump(mode="json"), "planner": "client"})

    def add(self, type_: str, data: dict[str, Any], task_id: str | None = None) -> Log:
        seq = len(self.events) + 1
        self.events.append(StreamEvent(run_id="r1", seq=seq, type=type_, task_id=task_id,
                                       data=data))  # fmt: skip
        return self

    def run(self, task: str, attempt: int, output: Any = None, *, finish: bool = True) -> Log:
        self.add("status", {"status": "running", "attempt": attempt, "agent_id": "a"}, task)
        if finish:
            self.add("result", {"output": output, "attempt": attempt}, task)
            self.add("status", {"status": "completed"}, task)
        return self

    def check(self, task: str, iteration: int, result: bool, exhausted: bool = False) -> Log:
        return self.add("status", {"status": "condition", "kind": "repeat_until",
                                   "expression": "output.ok", "result": result,
                                   "iteration": iteration, "exhausted": exhausted}, task)  # fmt: skip

    def again(self, task: str, iteration: int, attempt: int, loop: str = "r") -> Log:
        return self.add("status", {"status": "iterating", "iteration": iteration,
                                   "max_iterations": 3, "attempt": attempt, "loop": loop,
                                   "reason": "repeat_until false"}, task)  # fmt: skip


def recovered(plan: ExecutionPlan, log: Log) -> Any:
    record = RunRecord(run_id="r1", query="q", created_at=0.0)
    return recover(record, log.events)[0]


def test_a_loop_cut_off_mid_iteration_goes_on_at_that_iteration_with_the_last_output() -> None:
    log = Log(SOLO).run("r", 1, {"ok": False, "n": 1}).check("r", 1, False).again("r", 2, 2)
    log.run("r", 2, finish=False)
    p = loop_progress(SOLO, log.events)["r"]
    assert (p.iteration, p.finished, p.previous) == (2, False, {"ok": False, "n": 1})
    assert p.started == {"r": 2}  # iteration 2's attempts count from its first one
    rec = recovered(SOLO, log)
    assert "r" not in rec.done and rec.loops["r"].iteration == 2 and rec.attempts["r"] == 2


def test_a_finished_iteration_whose_condition_was_false_is_not_the_tasks_output() -> None:
    """Its last status is ``completed``, yet the loop goes on: the next iteration is next."""
    log = Log(SOLO).run("r", 1, {"ok": False}).check("r", 1, False)
    rec = recovered(SOLO, log)
    assert "r" not in rec.done
    p = rec.loops["r"]
    assert (p.iteration, p.finished, p.evaluated, p.output) == (1, True, False, {"ok": False})


def test_a_finished_iteration_whose_condition_is_unread_is_read_on_resume() -> None:
    log = Log(SOLO).run("r", 1, {"ok": False}).check("r", 1, False).again("r", 2, 2)
    log.run("r", 2, {"ok": True})
    p = recovered(SOLO, log).loops["r"]
    assert (p.iteration, p.finished, p.evaluated, p.output) == (2, True, None, {"ok": True})


def test_a_loop_its_condition_ended_is_done_and_not_carried() -> None:
    log = Log(SOLO).run("r", 1, {"ok": False}).check("r", 1, False).again("r", 2, 2)
    log.run("r", 2, {"ok": True}).check("r", 2, True)
    rec = recovered(SOLO, log)
    assert rec.done["r"]["output"] == {"ok": True} and rec.loops == {}
    exhausted = Log(SOLO).run("r", 1, {"ok": False}).check("r", 1, False, exhausted=True)
    assert recovered(SOLO, exhausted).done["r"]["output"] == {"ok": False}


def test_a_group_loop_keeps_its_members_for_the_check_to_run_again() -> None:
    """Cut off while ``w`` ran iteration 2: ``w`` is not run on its own (the check runs it
    again, with the check's output of iteration 1); a member that finished it is kept."""
    log = Log(GROUP).run("w", 1, "draft 1").run("r", 1, {"ok": False}).check("r", 1, False)
    log.again("w", 2, 2).run("w", 2, finish=False)
    rec = recovered(GROUP, log)
    assert rec.done["w"]["output"] == "draft 1" and "r" not in rec.done
    p = rec.loops["r"]
    assert (p.iteration, p.finished, p.previous, p.members_done) == (
        2, False, {"ok": False}, []
    )  # fmt: skip
    log.add("result", {"output": "draft 2"}, "w").add("status", {"status": "completed"}, "w")
    p = recovered(GROUP, log).loops["r"]
    assert p.members_done == ["w"] and recovered(GROUP, log).done["w"]["output"] == "draft 2"


def test_a_loop_in_its_first_iteration_resumes_as_any_task() -> None:
    log = Log(SOLO).run("r", 1, finish=False)
    rec = recovered(SOLO, log)
    assert rec.loops == {} and "r" not in rec.done


class RecordingCheck:
    """A fake ``InFlightCheck`` (unit test): records the keys it is asked about; the
    instance ``w-1`` knows ``known``."""

    def __init__(self, known: str | None = None) -> None:
        self.known = known
        self.asked: list[list[str]] = []

    async def in_flight(self, *args: Any) -> str:
        return "restart"

    async def unlogged(self, t: Any, keys: list[str]) -> tuple[str, str] | None:
        self.asked.append(keys)
        return ("w-1", self.known) if self.known in keys else None


async def test_a_call_the_log_never_saw_start_is_asked_by_its_announced_attempt_and_epochs() -> (
    None
):
    """The log ends at the ``iterating`` status of iteration 2 (attempt 2, announced): the
    call out, if any, is attempt 2's, made by an owner since the last one the log names
    (epoch 1, the first; this owner is 3), never attempt 3's."""
    from mesh_orchestrator.runs.in_doubt import settle

    log = Log(SOLO).run("r", 1, {"ok": False}).check("r", 1, False).again("r", 2, 2)
    rec = recovered(SOLO, log)
    assert rec.next_attempt("r") == 2
    check = RecordingCheck(known="r1:r:2@1")
    settled = await settle(check, "r1", rec, epoch=3)
    assert check.asked == [["r1:r:2@2", "r1:r:2@1"]]
    assert settled.pinned == {"r": ("w-1", 2, "r1:r:2@1")}  # re-attached under that key
    # a resumed owner's epoch bounds the search from below
    log.add("status", {"status": "resumed", "owner": "o", "epoch": 2, "last_stored_seq": 1,
                       "first_seq": 1001})  # fmt: skip
    check = RecordingCheck()
    await settle(check, "r1", recovered(SOLO, log), epoch=3)
    assert check.asked == [["r1:r:2@2"]]


def test_a_running_status_keeps_the_key_its_call_carried() -> None:
    log = Log(SOLO).add("status", {"status": "running", "attempt": 1, "agent_id": "a",
                                   "key": "r1:r:1@4"}, "r")  # fmt: skip
    assert recovered(SOLO, log).running["r"].key == "r1:r:1@4"


def test_a_run_approved_after_its_loop_was_in_doubt_goes_on_at_that_iteration() -> None:
    """Parked with the loop's call of iteration 2 in doubt, then approved to run it again:
    the loop goes on at iteration 2 with iteration 1's output (it started again at 1)."""
    log = Log(SOLO).run("r", 1, {"ok": False, "n": 1}).check("r", 1, False).again("r", 2, 2)
    log.run("r", 2, finish=False)
    rec = recovered(SOLO, log)
    record = RunRecord(run_id="r1", query="q", created_at=0.0)
    state = RunStates().approved(record, SOLO, rec, done=dict(rec.done))
    loops = state.get("resume_loops") or {}
    assert loops["r"]["iteration"] == 2 and loops["r"]["previous"] == {"ok": False, "n": 1}
    assert state.get("resume_attempts") == {"r": 2}
    fresh = RunStates().approved(record, SOLO, rec, done=None)  # approved before it ran
    assert fresh.get("resume_loops") is None
