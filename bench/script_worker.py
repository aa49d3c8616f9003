"""A mesh worker whose answers a test writes in the task's input: the controllable side of
the plan language's end-to-end tests (conditions, loops).

A real worker on the worker SDK (registration, heartbeats, ``/stream``). What it answers:

- ``approve_at: n``: ``{"approved": iteration >= n, "iteration": ..., "saw": [...]}``, where
  ``iteration`` is the loop iteration the orchestrator names in ``context["@loop"]`` (1 when
  none) and ``saw`` the context keys it was given (upstream task ids, ``@loop``): a reviewer
  that approves at its n-th look;
- ``reply: <any JSON>``: that value, as is;
- ``ask: [question, ...]`` (and ``choices``): asks the user each question in turn through
  the SDK's ``Asker``, then answers ``{"answers": [...], "calls": n}`` (``n``: the calls of
  this task in this run);
- otherwise ``{"text": "<prompt> #<iteration>", "iteration": ..., "saw": [...]}``.

``GET /health`` counts the calls by task id (``calls``). Settings: the SDK's ``WORKER_*``
plus ``SCRIPT_AGENT_ID`` (default ``script``), ``SCRIPT_CAPABILITY`` (``data_analysis``) and
``SCRIPT_MODE`` (``stream``, the default: called on ``/stream``; ``invoke``: it says it is
``static``, so the orchestrator calls its ``/invoke`` and reads one JSON answer). ``sleep``
in the input (seconds, in the iterations ``sleep_at`` names, every one when empty) holds
the answer back: long enough to kill an orchestrator mid-iteration. ``hold: n`` keeps the
call's stream open, sending nothing, until ``POST /release/{run_id}/{task_id}`` or for ``n``
seconds at most, then answers ``{"released": true|false, "task": ...}``: a test ends each
task when what it has read of the run's stream says so.
``python -m bench.script_worker`` serves it on ``WORKER_PORT`` (default 8092).
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from mesh_contracts import AgentDescriptor, StreamingMode, TaskRequest
from mesh_worker import Asker, Emit, Worker, serve

DEFAULT_PORT = 8092


class ScriptInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(default="", max_length=8000)
    reply: Any = None
    approve_at: int | None = Field(default=None, ge=1, le=100)
    ask: list[str] = Field(default_factory=list, max_length=5)  # questions, asked in turn
    choices: list[str] | None = None
    sleep: float = Field(default=0.0, ge=0.0, le=60.0)
    sleep_at: list[int] = Field(default_factory=list, max_length=10)
    hold: float = Field(default=0.0, ge=0.0, le=120.0)  # seconds at most, until released


class ScriptWorker(Worker[ScriptInput]):
    """Answers what its input says (see the module docstring); counts calls per task."""

    Input = ScriptInput

    def __init__(self, agent_id: str, capability: str, mode: str = "stream") -> None:
        self.agent_id = agent_id
        self.capability = capability
        self.mode = StreamingMode.STATIC if mode == "invoke" else StreamingMode.DYNAMIC_EVENTS
        self.calls: Counter[str] = Counter()  # by task id (``/health``)
        self.per_run: Counter[tuple[str | None, str]] = Counter()  # by run and task
        self.releases: dict[tuple[str, str], asyncio.Event] = {}  # by run and task (``hold``)

    def release(self, run_id: str, task_id: str) -> None:
        """Ends the ``hold`` of ``task_id`` in ``run_id``, now or (not held yet) when it comes."""
        self.releases.setdefault((run_id, task_id), asyncio.Event()).set()

    def describe(self) -> AgentDescriptor:
        return self.descriptor(
            agent_id=self.agent_id,
            description="Test worker: answers what its input scripts.",
            capabilities=[self.capability],
            streaming_mode=self.mode,
            max_concurrency=64,
            timeout_seconds=60,
            tags=["test"],
        )

    def health(self) -> dict[str, Any]:
        return {"calls": dict(self.calls)}

    async def run(self, task: TaskRequest, inp: ScriptInput, emit: Emit) -> Any:
        self.calls[task.task_id] += 1
        self.per_run[(task.run_id, task.task_id)] += 1
        loop = task.context.get("@loop") or {}
        iteration = int(loop.get("iteration", 1))
        saw = sorted(task.context)
        if inp.sleep and (not inp.sleep_at or iteration in inp.sleep_at):
            await asyncio.sleep(inp.sleep)
        if inp.hold:
            released = self.releases.setdefault((task.run_id or "", task.task_id), asyncio.Event())
            try:
                await asyncio.wait_for(released.wait(), inp.hold)
            except TimeoutError:
                return {"released": False, "task": task.task_id}
            finally:
                self.releases.pop((task.run_id or "", task.task_id), None)
            return {"released": True, "task": task.task_id}
        if inp.ask:  # asks the user each question (the SDK's Asker), then says the answers
            ctx = Asker(task, emit)
            answers = [await ctx.ask(q, choices=inp.choices) for q in inp.ask]
            return {"answers": answers, "calls": self.per_run[(task.run_id, task.task_id)]}
        if inp.approve_at is not None:
            return {"approved": iteration >= inp.approve_at, "iteration": iteration, "saw": saw}
        if inp.reply is not None:
            return inp.reply
        return {"text": f"{inp.prompt} #{iteration}", "iteration": iteration, "saw": saw}


def main() -> None:
    worker = ScriptWorker(
        os.environ.get("SCRIPT_AGENT_ID", "script"),
        os.environ.get("SCRIPT_CAPABILITY", "data_analysis"),
        os.environ.get("SCRIPT_MODE", "stream"),
    )
    router = APIRouter()

    @router.post("/release/{run_id}/{task_id}", status_code=204)
    async def release(run_id: str, task_id: str) -> None:
        worker.release(run_id, task_id)

    serve(worker, default_port=DEFAULT_PORT, routers=[router])


if __name__ == "__main__":
    main()
