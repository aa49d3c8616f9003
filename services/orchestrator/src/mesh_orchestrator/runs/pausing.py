"""Pausing and resuming runs: ``POST /v1/runs/{id}/pause`` and ``/resume``, from any replica.

A pause closes the run's gate (``relay.gate``; ``RunDriver.pause_here`` where the run is
live): no sub-task starts from then on. The
sub-tasks running finish first (or, ``cancel_running``, are stopped at once: their worker
calls are cancelled and they go back to ``pending``); then the run is parked like a run
awaiting approval: a ``paused`` status goes out, its row says ``paused``, its task ends
and nothing of it stays in memory or holds a lease. A pause asked for on a replica that does
not execute the run is stored (``RunStore.request_pause``) and applied by the executing
replica's keeper at its next pass (a third of the lease time at most).

``resume`` (any replica) claims the paused row (``claim_parked``: ``running`` under a new
epoch) and takes the run up from its stored log exactly as a replica takes up an orphan
(``Resumer.resume``): completed sub-tasks keep their outputs and never run again, a
``resumed`` status with ``reason: "resumed after pause"`` says what was kept and what runs.
A restart while paused loses nothing: the row stays ``paused`` until someone resumes it.
``answer`` does the same for a run parked ``input_required``, the answer in its log first.

``Pauses`` is the member of ``RunService`` that does this, over the ``RunDriver`` (the runs
live here) and the ``Resumer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from enum import StrEnum
from typing import Any

from mesh_contracts import RunStatus, StreamEvent, TaskInputAnswered, TaskInputRequired
from mesh_orchestrator.runs.driving import Draining, RunDriver, skip_unfinished
from mesh_orchestrator.runs.emitter import RunEvents
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.resume import Recovered
from mesh_orchestrator.runs.resuming import Resumer
from mesh_orchestrator.runs.store.base import RunRecord, RunStore

MAX_ANSWER_CHARS = 8000

# How long resume waits for a run being paused (still running here or elsewhere) to be
# parked before answering that it is not paused.
PARK_WAIT_SECONDS = 5.0


class PauseOutcome(StrEnum):
    DONE = "done"  # pausing (or paused), resumed, or answered
    NOT_RUNNING = "not_running"  # pause: the run is parked or ended
    NOT_PAUSED = "not_paused"  # resume: the run is not paused; input: it awaits no input
    NOT_ASKING = "not_asking"  # input: that task has no open question
    UNKNOWN = "unknown"


class BadAnswer(ValueError):
    """The answer does not fit the question (not one of its choices, or not its schema)."""


def open_question(events: list[StreamEvent], task_id: str) -> TaskInputRequired | None:
    """The task's last question in the run's log, unless it was answered."""
    asked: TaskInputRequired | None = None
    for e in events:
        if e.task_id != task_id or e.type != "status":
            continue
        if e.data.get("status") == "input_required":
            asked = TaskInputRequired.model_validate(e.data)
        elif (
            e.data.get("status") == "answered"
            and asked is not None
            and e.data.get("input_id") == asked.input_id
        ):
            asked = None
    return asked


def check_answer(question: TaskInputRequired, answer: Any) -> None:
    """Raise ``BadAnswer`` (a short reason) unless ``answer`` fits ``question``."""
    if question.choices is not None:
        if answer not in question.choices:
            raise BadAnswer("the answer must be one of: " + ", ".join(question.choices)[:300])
    elif question.answer_schema is not None:
        import jsonschema  # ~40 ms of CPU to import: with the first answer to a schema

        try:
            jsonschema.validate(answer, question.answer_schema)
        except jsonschema.ValidationError as exc:
            raise BadAnswer(f"the answer does not fit its schema: {exc.message[:200]}") from None
        except jsonschema.SchemaError:
            raise BadAnswer("the question's answer schema is not valid") from None
    elif not isinstance(answer, str) or not answer.strip() or len(answer) > MAX_ANSWER_CHARS:
        raise BadAnswer(f"the answer must be text (1..{MAX_ANSWER_CHARS} characters)")


class Pauses:
    """Pause, resume, answer and cancel-while-paused (see the module docstring)."""

    def __init__(
        self,
        driver: RunDriver,
        resumer: Resumer,
        mux: EventMux,
        store: RunStore,
        *,
        replica_id: str = "orchestrator",
        lease_seconds: float = 10.0,
    ) -> None:
        self.driver = driver
        self.resumer = resumer
        self.mux = mux
        self.store = store
        self.replica_id = replica_id
        self.lease_seconds = lease_seconds

    async def pause(
        self, run_id: str, cancel_running: bool = False
    ) -> tuple[PauseOutcome, RunRecord | None]:
        """Pause the running run ``run_id`` wherever it runs; returns once the pause is
        under way (the ``paused`` event says when it is parked)."""
        if self.driver.pause_here(run_id, cancel_running):
            return PauseOutcome.DONE, self.mux.record(run_id)
        record = await self.driver.get(run_id)
        if record is None:
            return PauseOutcome.UNKNOWN, None
        if record.status is RunStatus.RUNNING and await self.store.request_pause(
            run_id, cancel_running
        ):
            return PauseOutcome.DONE, record
        return PauseOutcome.NOT_RUNNING, record

    async def resume_paused(self, run_id: str) -> tuple[PauseOutcome, RunRecord | None]:
        """Take up the paused run ``run_id`` here (whoever paused it). Raises ``Draining``
        while this replica shuts down."""
        if self.driver.draining:
            raise Draining
        await self._parked_stored(run_id)
        record = await self._claim_paused(run_id)
        if isinstance(record, PauseOutcome):
            return record, await self.driver.get(run_id)
        await self.resumer.resume(record, reason="resumed after pause")
        return PauseOutcome.DONE, record

    async def answer(
        self, run_id: str, task_id: str, answer: Any
    ) -> tuple[PauseOutcome, RunRecord | None]:
        """Answer the open question of ``task_id`` of a run parked ``input_required`` (any
        replica, whoever parked it): the answer goes into the run's log and the run goes on,
        the task called again with it. Raises ``BadAnswer`` when it does not fit the
        question, ``Draining`` while this replica shuts down."""
        if self.driver.draining:
            raise Draining
        if await self.driver.get(run_id) is None:
            return PauseOutcome.UNKNOWN, None
        await self._parked_stored(run_id)
        question = open_question(await self.store.events_after(run_id, 0), task_id)
        if question is None:
            return PauseOutcome.NOT_ASKING, await self.driver.get(run_id)
        check_answer(question, answer)
        record = await self._claim_paused(run_id, status=RunStatus.INPUT_REQUIRED)
        if isinstance(record, PauseOutcome):
            return record, await self.driver.get(run_id)

        def answered(events: RunEvents, rec: Recovered) -> None:
            events.emit(TaskInputAnswered(input_id=question.input_id, answer=answer), task_id)
            rec.inputs.setdefault(task_id, []).append(answer)

        await self.resumer.resume(record, reason="input answered", before=answered)
        return PauseOutcome.DONE, record

    async def _parked_stored(self, run_id: str) -> None:
        """A run this replica parked (paused, asking) whose park is not stored yet: wait,
        bounded, until it is. Its stream shows the park before its row and log are written,
        and the claim below reads the store."""
        live = self.mux.record(run_id)
        if live is not None and live.status in (RunStatus.PAUSED, RunStatus.INPUT_REQUIRED):
            await self.mux.settled(run_id)

    async def open_questions(self, run_id: str) -> list[str]:
        """The tasks of the run whose question is not answered yet, in the order asked."""
        log = await self.store.events_after(run_id, 0)
        asking = dict.fromkeys(
            e.task_id for e in log if e.task_id and e.data.get("status") == "input_required"
        )
        return [t for t in asking if t is not None and open_question(log, t) is not None]

    async def cancel_paused(self, run_id: str) -> RunRecord | None:
        """End a paused run as ``cancelled`` (its unfinished sub-tasks ``skipped``); None
        when it is not paused."""
        record = await self._claim_paused(run_id, wait=False)
        if isinstance(record, PauseOutcome):
            record = await self._claim_paused(run_id, wait=False, status=RunStatus.INPUT_REQUIRED)
        if isinstance(record, PauseOutcome):
            return None
        _, events, _ = await self.resumer.reopen(record)
        skip_unfinished(events, "run cancelled while paused")
        self.driver.end(events, RunStatus.CANCELLED)
        await self.mux.flush()
        return record

    async def _claim_paused(
        self, run_id: str, *, wait: bool = True, status: RunStatus = RunStatus.PAUSED
    ) -> RunRecord | PauseOutcome:
        # A client acts on the ``paused`` event, which goes out just before the run is
        # parked here or on the replica executing it: give it a moment to be stored.
        deadline = time.monotonic() + (PARK_WAIT_SECONDS if wait else 0.0)
        while True:
            task = self.driver.task(run_id)
            if task is not None and wait:
                with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                    await asyncio.wait_for(asyncio.shield(task), PARK_WAIT_SECONDS)
            if run_id in self.mux.channels:
                await self.mux.flush()
            record = await self.store.claim_parked(
                run_id, status, self.replica_id, self.lease_seconds
            )
            if record is not None:
                return record
            known = await self.driver.get(run_id)
            if known is None:
                return PauseOutcome.UNKNOWN
            if known.status is not RunStatus.RUNNING or time.monotonic() > deadline:
                return PauseOutcome.NOT_PAUSED
            await asyncio.sleep(0.05)
