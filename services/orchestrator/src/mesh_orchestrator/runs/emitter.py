"""The one way a run's events leave: ``RunEvents``, handed to every graph node and the executor.

Two doors, one path. ``emit`` takes a typed payload (``mesh_contracts.run_events``) and is
used on the cold paths (a run's start, its plan, a node's status, the answer). ``relay``
takes a worker event as the executor read it, ``(type, body)`` with no pydantic: it is
called once per relayed token, and a token costs one ``publish``. Both number the event in
the multiplexer and, when it changes state, fold it into the run's projection.
"""

from __future__ import annotations

from typing import Any, Protocol

from mesh_contracts import RunPayload
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.projection import STATEFUL, RunProjection


class Emitter(Protocol):
    """What the graph's nodes and the executor emit through (tests pass a recording fake)."""

    def emit(
        self, payload: RunPayload, task_id: str | None = None, agent_id: str | None = None
    ) -> None: ...

    def relay(
        self, type_: str, body: dict[str, Any], task_id: str | None, agent_id: str | None
    ) -> None: ...


class RunEvents:
    """``Emitter`` of one run: numbers through ``mux``, folds state into ``projection``."""

    __slots__ = ("_mux", "projection", "run_id")

    def __init__(self, run_id: str, mux: EventMux, projection: RunProjection) -> None:
        self.run_id = run_id
        self._mux = mux
        self.projection = projection

    def emit(
        self, payload: RunPayload, task_id: str | None = None, agent_id: str | None = None
    ) -> None:
        self.relay(payload.TYPE, payload.data(), task_id, agent_id)

    def relay(
        self, type_: str, body: dict[str, Any], task_id: str | None, agent_id: str | None
    ) -> None:
        e = self._mux.publish(self.run_id, type_, body, task_id, agent_id)  # type: ignore[arg-type]
        if type_ in STATEFUL and self.projection.apply(type_, body, task_id, e.ts):
            self._mux.touch(self.run_id)
