"""The one way a run's events leave: ``RunEvents``, handed to every graph node and the executor.

Two doors, one path. ``emit`` takes a typed payload (``mesh_contracts.run_events``) and is
used on the cold paths (a run's start, its plan, a node's status, the answer). ``relay``
takes a worker event as the executor read it, ``(type, body)`` with no pydantic, and
``relay_many`` the events of one block read from a worker at once (the executor's hot path:
one ``publish_many`` per block). All number the events in the multiplexer and, when one
changes state, fold it into the run's projection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mesh_contracts import PlanChosen, RunPayload
from mesh_contracts.event_bodies import Made, PlanMade
from mesh_orchestrator.emitter import Emitter, Relayable, TokenBytes
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.projection import STATEFUL, RunProjection

# Events one run may record: past it the worker chatter of the run (tokens, messages,
# progress) is no longer numbered or stored; state changes, results and the end still are.
MAX_RUN_EVENTS = 50_000
_CHATTER = frozenset({"token", "message", "progress"})

__all__ = ["MAX_RUN_EVENTS", "Emitter", "RunEvents"]


class RunEvents:
    """``Emitter`` of one run: numbers through ``mux``, folds state into ``projection``."""

    __slots__ = ("_mux", "dropped", "max_events", "projection", "published", "run_id")

    def __init__(
        self,
        run_id: str,
        mux: EventMux,
        projection: RunProjection,
        max_events: int = MAX_RUN_EVENTS,
    ) -> None:
        self.run_id = run_id
        self._mux = mux
        self.projection = projection
        self.max_events = max_events
        self.published = 0
        self.dropped = 0  # chatter left out past max_events

    def emit(
        self, payload: RunPayload | Made, task_id: str | None = None, agent_id: str | None = None
    ) -> None:
        if (type(payload) is PlanMade or type(payload) is PlanChosen) and task_id is None:
            # A plan validated where it was made: the projection's nodes are made from the
            # event's tasks as they are, not validated again (``RunProjection.planned``).
            body = payload.data()
            self.published += 1
            e = self._mux.publish(self.run_id, "plan", body, None, agent_id)
            if e is not None and self.projection.planned(body["plan"]["tasks"]):
                self._mux.touch(self.run_id)
            return
        self.relay(payload.TYPE, payload.data(), task_id, agent_id)

    def relay(
        self, type_: str, body: dict[str, Any], task_id: str | None, agent_id: str | None
    ) -> None:
        self.published += 1
        if self.published > self.max_events and type_ in _CHATTER:
            self.dropped += 1
            return
        e = self._mux.publish(self.run_id, type_, body, task_id, agent_id)  # type: ignore[arg-type]
        if e is None:  # the run was dropped here (fenced or drained)
            return
        if type_ in STATEFUL and self.projection.apply(type_, body, task_id, e.ts):
            self._mux.touch(self.run_id)

    async def persisted(self) -> bool:
        """Wait until the events emitted so far are stored (see ``EventMux.persisted``)."""
        return await self._mux.persisted()

    def relay_many(
        self, items: Sequence[Relayable], task_id: str | None, agent_id: str | None
    ) -> None:
        """``relay`` of the events of one block a worker sent, in order, at once."""
        if self.published + len(items) > self.max_events:  # near the cap: one at a time
            if type(items) is TokenBytes and self.published >= self.max_events:
                self.published += len(items)  # past it: a block of tokens left out whole
                self.dropped += len(items)
                return
            for type_, body in items:
                self.relay(type_, body, task_id, agent_id)
            return
        self.published += len(items)
        events = self._mux.publish_many(self.run_id, items, task_id, agent_id)
        if type(items) is TokenBytes:  # tokens: no state changes
            return
        for e in events:
            if e.type in STATEFUL and self.projection.apply(e.type, e.data, task_id, e.ts):
                self._mux.touch(self.run_id)
