"""Withdrawing the open questions of a cancelled run from the agents that asked them.

An external A2A agent that asked the user (``input-required``) keeps its task waiting for
the answer: the run parks, and the call that asked ended without cancelling it (the answer
continues that same task, ``relay.a2a_client``). When the run is cancelled instead, that
task would wait for ever. So once a cancelled run's end is stored, ``Withdrawal`` reads its
log and, for each task whose last question is still open and names the agent's waiting task
(its ``resume``: ``agent``, ``taskId``), sends ``CancelTask`` to that agent
(``WorkerCalls.cancel_asked``: the A2A client, with the agent's own credentials).

It runs beside the run's end, never in its way: a failure is logged (the agent's task then
lapses on the agent's own terms). The run driver calls ``ended`` for every run that ends
here, whichever way it was cancelled (live, or while parked).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from mesh_contracts import RunStatus
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.pausing import open_question
from mesh_orchestrator.runs.store.base import RunStore

log = logging.getLogger(__name__)

# (agent id, the agent's task id) -> whether the agent took the CancelTask.
CancelAsked = Callable[[str, str], Awaitable[bool]]


async def _nobody(agent_id: str, task_id: str) -> bool:
    return False


class Withdrawal:
    """Sends ``CancelTask`` for a cancelled run's open A2A questions (module docstring)."""

    def __init__(self, mux: EventMux, store: RunStore, cancel: CancelAsked = _nobody) -> None:
        self.mux = mux
        self.store = store
        self.cancel = cancel
        self.withdrawn = 0  # CancelTask calls the agents took (tests, logs)
        self._pending: set[asyncio.Task[None]] = set()

    def ended(self, run_id: str, status: RunStatus) -> None:
        """A run ended here (``RunDriver.on_ended``): withdraw its questions if it was
        cancelled, in the background."""
        if status is not RunStatus.CANCELLED or self.cancel is _nobody:
            return
        task = asyncio.get_running_loop().create_task(
            self._withdraw(run_id), name=f"withdraw-{run_id}"
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _withdraw(self, run_id: str) -> None:
        try:
            await self.mux.settled(run_id)  # its whole log stored, the questions in it
            events = await self.store.events_after(run_id, 0)
            asked = dict.fromkeys(e.task_id for e in events if e.task_id is not None)
            for task_id in asked:
                question = open_question(events, task_id)
                resume = question.resume if question is not None else None
                if not resume:
                    continue
                agent, remote = resume.get("agent"), resume.get("taskId")
                if not isinstance(agent, str) or not isinstance(remote, str) or not remote:
                    continue
                if await self.cancel(agent, remote):
                    self.withdrawn += 1
                    log.info("run %s cancelled: %s's task %s cancelled", run_id, agent, remote)
                else:
                    log.warning(
                        "run %s cancelled: %s did not take CancelTask for its task %s",
                        run_id, agent, remote,
                    )  # fmt: skip
        except Exception:
            log.exception("run %s: withdrawing its open questions failed", run_id)

    async def settle(self) -> None:
        """Wait for the withdrawals under way (shutdown; each CancelTask is bounded)."""
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
