"""The state behind ``mesh ask``'s live view: one lane per sub-task, fed StreamEvents.

Pure data, no I/O and no rich: ``LaneBoard.apply`` folds one orchestrator StreamEvent into
the board (in ``seq`` order; an event whose ``seq`` was already seen is ignored, so a
resumed stream that replays a few events is harmless). ``cli_view`` renders a board.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mesh_contracts import StreamEvent

# Only the end of a token stream is shown, so only the end is kept: a lane's memory stays
# bounded however long the worker talks.
TEXT_TAIL_CHARS = 2000
TERMINAL_TASK_STATUSES = frozenset({"completed", "failed", "skipped"})


@dataclass(slots=True)
class Progress:
    step: int | None = None
    total: int | None = None
    message: str | None = None

    @property
    def fraction(self) -> float | None:
        """``step / total`` clamped to [0, 1], or None when the total is unknown."""
        if self.step is None or not self.total:
            return None
        return max(0.0, min(1.0, self.step / self.total))


@dataclass(slots=True)
class Artifact:
    name: str
    url: str | None = None
    content_type: str = "application/octet-stream"
    size_bytes: int | None = None


@dataclass(slots=True)
class Lane:
    """Everything the view shows about one sub-task."""

    task_id: str
    capability: str = ""
    description: str = ""
    depends_on: list[str] = field(default_factory=list)
    status: str = "pending"
    reason: str | None = None
    agent_id: str | None = None
    instance_id: str | None = None
    text_tail: str = ""
    text_chars: int = 0
    tokens: int = 0
    messages: int = 0
    last_message: str | None = None
    progress: Progress | None = None
    artifacts: list[Artifact] = field(default_factory=list)
    output: Any = None
    error: str | None = None
    error_code: str | None = None
    attempt: int = 1
    # The plan language: why the branch was (not) taken or the loop went on, in one line
    # ("when $.review.output.approved == true: false (…)"), and the loop's iteration.
    condition: str | None = None
    iteration: int | None = None
    # The worker's open question (``input_required``: question, choices, answer_schema).
    question: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_TASK_STATUSES

    def add_text(self, text: str) -> None:
        self.text_chars += len(text)
        self.text_tail = (self.text_tail + text)[-TEXT_TAIL_CHARS:]

    def restart(self, attempt: int) -> None:
        """The task runs again (another replica): only the new attempt's output counts."""
        self.attempt = attempt
        self.text_tail, self.text_chars, self.tokens = "", 0, 0
        self.messages, self.last_message, self.progress = 0, None, None
        self.artifacts, self.output, self.error, self.error_code = [], None, None, None


@dataclass(slots=True)
class LaneBoard:
    """A run as seen from its event stream. ``apply`` is the only mutator."""

    run_id: str | None = None
    query: str = ""
    status: str = "connecting"
    planner: str | None = None
    plan_reason: str = ""
    lanes: dict[str, Lane] = field(default_factory=dict)
    answer: str | None = None
    result_status: str | None = None
    results: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    last_seq: int = 0
    events: int = 0
    done: bool = False
    final_status: str | None = None
    plan_tasks: list[dict[str, Any]] = field(default_factory=list)  # the last plan event's

    @property
    def awaiting_input(self) -> bool:
        """A worker asked the user: the run is parked until answered (no done)."""
        return self.status == "input_required" and not self.done

    def open_questions(self) -> list[Lane]:
        """The lanes whose worker asked and got no answer yet, in plan order."""
        return [
            lane
            for lane in self.lanes.values()
            if lane.question is not None and lane.status == "input_required"
        ]

    @property
    def awaiting_approval(self) -> bool:
        """The run is parked until approved or rejected (its stream ends without done)."""
        return self.status == "awaiting_approval" and not self.done

    def apply(self, event: StreamEvent) -> bool:
        """Fold one event in. Returns False (and changes nothing) for an already-seen seq."""
        if event.seq and event.seq <= self.last_seq:
            return False
        self.last_seq = max(self.last_seq, event.seq)
        self.events += 1
        if self.run_id is None:
            self.run_id = event.run_id
        handler = _HANDLERS.get(event.type)
        if handler is not None:
            handler(self, event)
        return True

    def lane(self, task_id: str) -> Lane:
        """The lane of ``task_id``, created on first sight (events may precede the plan)."""
        lane = self.lanes.get(task_id)
        if lane is None:
            lane = self.lanes[task_id] = Lane(task_id=task_id)
        return lane

    # -- one handler per event type -------------------------------------------------

    def _on_run(self, ev: StreamEvent) -> None:
        self.query = str(ev.data.get("query") or self.query)
        self.status = str(ev.data.get("status") or "running")

    def _on_plan(self, ev: StreamEvent) -> None:
        plan = ev.data.get("plan") or {}
        self.planner = ev.data.get("planner") or plan.get("planner")
        self.plan_reason = str(ev.data.get("reason") or plan.get("reasoning") or "")
        self.plan_tasks = list(plan.get("tasks", []))
        for task in plan.get("tasks", []):
            lane = self.lane(str(task["task_id"]))
            lane.capability = str(task.get("capability", ""))
            lane.description = str(task.get("description", ""))
            lane.depends_on = list(task.get("depends_on", []))
            lane.agent_id = lane.agent_id or task.get("agent_id")

    def _task_lane(self, ev: StreamEvent) -> Lane | None:
        if ev.task_id is None:
            return None
        lane = self.lane(ev.task_id)
        if ev.agent_id:
            lane.agent_id = ev.agent_id
        return lane

    def _on_status(self, ev: StreamEvent) -> None:
        lane = self._task_lane(ev)
        if lane is None:
            self.status = str(ev.data.get("status", self.status))
            return
        if ev.data.get("status") == "input_required":  # the worker asks the user
            lane.question = dict(ev.data)
        elif ev.data.get("status") == "answered":
            lane.question = None
            lane.status = "pending"
            return
        if ev.data.get("status") == "condition":  # a when / repeat_until: not a state change
            lane.condition = _condition_line(ev.data)
            return
        if ev.data.get("status") == "iterating":  # a loop runs it again: a new attempt
            lane.restart(_int_or_none(ev.data.get("attempt")) or lane.attempt + 1)
            lane.iteration = _int_or_none(ev.data.get("iteration"))
            lane.status = "running"
            return
        if ev.data.get("status") == "retrying":
            lane.restart(_int_or_none(ev.data.get("attempt")) or lane.attempt + 1)
        lane.status = str(ev.data.get("status", lane.status))
        lane.agent_id = ev.data.get("agent_id") or lane.agent_id
        lane.instance_id = ev.data.get("instance_id") or lane.instance_id
        if ev.data.get("reason"):
            lane.reason = str(ev.data["reason"])

    def _stale(self, lane: Lane, ev: StreamEvent) -> bool:
        """An event of an attempt that was given up (it may still arrive late)."""
        attempt = _int_or_none(ev.data.get("attempt"))
        return attempt is not None and attempt < lane.attempt

    def _on_token(self, ev: StreamEvent) -> None:
        lane = self._task_lane(ev)
        if lane is not None and not self._stale(lane, ev):
            lane.tokens += 1
            lane.add_text(str(ev.data.get("token", "")))

    def _on_message(self, ev: StreamEvent) -> None:
        lane = self._task_lane(ev)
        if lane is not None:
            lane.messages += 1
            lane.last_message = str(ev.data.get("content", ""))

    def _on_progress(self, ev: StreamEvent) -> None:
        lane = self._task_lane(ev)
        if lane is not None:
            lane.progress = Progress(
                step=_int_or_none(ev.data.get("step")),
                total=_int_or_none(ev.data.get("total")),
                message=ev.data.get("message"),
            )

    def _on_artifact(self, ev: StreamEvent) -> None:
        lane = self._task_lane(ev)
        if lane is not None:
            lane.artifacts.append(
                Artifact(
                    name=str(ev.data.get("name", "artifact")),
                    url=ev.data.get("url"),
                    content_type=str(ev.data.get("content_type", "application/octet-stream")),
                    size_bytes=_int_or_none(ev.data.get("size_bytes")),
                )
            )

    def _on_result(self, ev: StreamEvent) -> None:
        lane = self._task_lane(ev)
        if lane is not None:
            lane.output = ev.data.get("output")
            return
        # The run-level result: the synthesized answer and every task's outcome.
        self.answer = str(ev.data.get("answer") or "")
        self.result_status = ev.data.get("status")
        self.results = dict(ev.data.get("results") or {})
        for task_id, res in self.results.items():
            if not isinstance(res, dict):
                continue
            lane = self.lane(task_id)
            if not lane.finished and res.get("status"):
                lane.status = str(res["status"])
            lane.agent_id = lane.agent_id or res.get("agent_id")
            lane.error = lane.error or res.get("error")
            if lane.output is None:
                lane.output = res.get("output")

    def _on_error(self, ev: StreamEvent) -> None:
        message = str(ev.data.get("error", "error"))
        lane = self._task_lane(ev)
        if lane is None:
            self.errors.append(message)
            return
        lane.error = message
        lane.error_code = ev.data.get("code")

    def _on_done(self, ev: StreamEvent) -> None:
        self.done = True
        self.final_status = str(ev.data.get("status") or self.result_status or "completed")
        self.status = self.final_status


def _condition_line(data: dict[str, Any]) -> str:
    """``when <expr>: true (path=value, ...)``; a loop's says its iteration."""
    raw = data.get("values")
    values: dict[str, Any] = raw if isinstance(raw, dict) else {}
    read = ", ".join(f"{k}={v!r}" for k, v in list(values.items())[:4])
    kind = str(data.get("kind", "when"))
    at = f" at iteration {data['iteration']}" if data.get("iteration") else ""
    verdict = "true" if data.get("result") else "false"
    if data.get("exhausted"):
        verdict += ", max_iterations reached"
    return f"{kind} {data.get('expression', '')}{at}: {verdict}" + (f" ({read})" if read else "")


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


_HANDLERS = {
    "run": LaneBoard._on_run,
    "plan": LaneBoard._on_plan,
    "status": LaneBoard._on_status,
    "token": LaneBoard._on_token,
    "message": LaneBoard._on_message,
    "progress": LaneBoard._on_progress,
    "artifact": LaneBoard._on_artifact,
    "result": LaneBoard._on_result,
    "error": LaneBoard._on_error,
    "done": LaneBoard._on_done,
}
