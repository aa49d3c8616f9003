"""Runs: start one, drive its graph in the background, cancel it, answer for it later.

A run lives in its own asyncio task, not in the HTTP request that started it, so a client
may leave and come back (``/v1/runs/{id}/events``). ``RunManager.start`` returns once the
``run`` event is published. Worker events take the live channel straight into the
multiplexer (``LIVE_EMIT`` in the run's config, which the ``execute`` node hands to the
executor); what other nodes write to LangGraph's custom stream is relayed as it arrives.
LangGraph checkpoints the run when its graph ends (``durability="exit"``): a checkpoint
per step cost ~5 ms before the first worker call, and nothing resumes a run mid-graph.
Cancelling the task cancels the executor's calls, which closes every worker
stream (the workers then stop generating); unfinished nodes are reported ``skipped`` and
the run ends with ``done {"status": "cancelled"}``. With a ``tracer`` the run is one trace,
its root span open while the graph runs (see ``tracing``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

from mesh_contracts import ExecutionPlan
from mesh_orchestrator.graph.build import LIVE_EMIT, RunState
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.store.base import RunRecord, RunStore
from mesh_orchestrator.tracing import RunSpan, RunTracer

log = logging.getLogger(__name__)


class RunManager:
    """Owns the live runs of this process."""

    def __init__(
        self,
        graph: Any,
        mux: EventMux,
        store: RunStore,
        *,
        max_replans: int = 1,
        max_llm_attempts: int = 2,
        tracer: RunTracer | None = None,
    ):
        self.graph = graph
        self.tracer = tracer
        self.mux = mux
        self.store = store
        self.max_replans = max_replans
        self.max_llm_attempts = max_llm_attempts
        self.tasks: dict[str, asyncio.Task[None]] = {}

    async def start(
        self, query: str, plan: ExecutionPlan | None, options: dict[str, Any]
    ) -> RunRecord:
        run_id = uuid.uuid4().hex
        record = RunRecord(run_id=run_id, query=query, created_at=time.time(), options=options)
        client_plan = plan.model_dump(mode="json") if plan is not None else None
        if client_plan is not None:
            record.plan = client_plan["tasks"]
        self.mux.open(record)  # stored by the multiplexer's next flush
        self.mux.publish(run_id, "run", {"run_id": run_id, "query": query, "status": "running"})
        state: RunState = {
            "run_id": run_id,
            "query": query,
            "client_plan": client_plan,
            "timeout_seconds": options.get("timeout_seconds"),
            "replans": 0,
            "max_replans": self.max_replans,
            "max_llm_attempts": self.max_llm_attempts,
        }
        if client_plan is not None:  # no planning step: the graph goes straight to resolve
            state["plan"] = client_plan
            state["planner"] = "client"
            state["reason"] = "plan supplied by the client"
        drive = self._drive(run_id, state) if self.tracer is None else self._traced(run_id, state)
        self.tasks[run_id] = asyncio.create_task(drive, name=f"run-{run_id}")
        return record

    def is_live(self, run_id: str) -> bool:
        return run_id in self.tasks

    def cancel(self, run_id: str) -> bool:
        """Request cancellation; False when the run is not live here."""
        task = self.tasks.get(run_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    async def wait(self, run_id: str) -> None:
        task = self.tasks.get(run_id)
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)

    async def shutdown(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)

    async def _traced(self, run_id: str, state: RunState) -> None:
        assert self.tracer is not None
        # This task started with a copy of the starting request's context: its span is current.
        link = self.tracer.request_link()
        with self.tracer.run(run_id, state["query"], link) as span:
            await self._drive(run_id, state, span)

    async def _drive(self, run_id: str, state: RunState, span: RunSpan | None = None) -> None:
        status, answer = "failed", None
        final: dict[str, Any] = {"planner": state.get("planner")}  # set here for a client plan
        config = {"configurable": {"thread_id": run_id, LIVE_EMIT: self.mux.emitter(run_id)}}
        try:
            # "updates" (what each node returned), not "values" (the whole state after every
            # step): status and answer are all this needs of it.
            async for mode, chunk in self.graph.astream(
                state, config, stream_mode=["custom", "updates"], durability="exit"
            ):
                if mode == "custom":
                    self.mux.publish(run_id, **chunk)
                else:
                    for update in chunk.values():
                        if isinstance(update, dict):
                            final.update(update)
            status = final.get("status", "failed")
            answer = final.get("answer")
        except asyncio.CancelledError:
            status = "cancelled"
            self._skip_unfinished(run_id, "run cancelled")
        except Exception as exc:
            log.exception("run %s crashed", run_id)
            if span is not None:
                span.crashed(exc)
            self.mux.publish(
                run_id, "error", {"error": f"internal error: {exc}", "code": "internal"}
            )
            self._skip_unfinished(run_id, "run failed")
        finally:
            if span is not None:
                span.finish(status, final.get("planner"))
            self.mux.publish(run_id, "done", {"status": status})
            self.mux.close(run_id, status, answer)
            self.tasks.pop(run_id, None)

    def _skip_unfinished(self, run_id: str, reason: str) -> None:
        ch = self.mux.channels[run_id]
        for node in list(ch.nodes.values()):
            if not node.status.terminal:
                self.mux.publish(
                    run_id,
                    "status",
                    {"status": "skipped", "reason": reason},
                    task_id=node.task_id,
                    agent_id=node.assigned_agent,
                )
