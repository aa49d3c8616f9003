"""``Emitter``: what the graph's nodes and the executor send a run's events through.

A protocol at the bottom of the orchestrator, so that ``relay/`` and ``graph/`` emit without
importing ``runs/``, which implements it (``runs.emitter.RunEvents``) and sits above them.
Two doors, one path: ``emit`` takes a typed payload (``mesh_contracts.run_events``) on the
cold paths; ``relay`` takes a worker event as the executor read it, ``(type, body)`` with no
pydantic, once per relayed token. ``persisted`` waits until what was emitted is stored: a
call that must never run twice is logged before it goes out.
"""

from __future__ import annotations

from typing import Any, Protocol

from mesh_contracts import RunPayload


class Emitter(Protocol):
    """What the graph's nodes and the executor emit through (tests pass a recording fake)."""

    def emit(
        self, payload: RunPayload, task_id: str | None = None, agent_id: str | None = None
    ) -> None: ...

    def relay(
        self, type_: str, body: dict[str, Any], task_id: str | None, agent_id: str | None
    ) -> None: ...

    def relay_many(
        self, items: list[tuple[str, dict[str, Any]]], task_id: str | None, agent_id: str | None
    ) -> None: ...

    async def persisted(self) -> bool:
        """Wait until what was emitted so far is stored (False: not within a bound)."""
        ...
