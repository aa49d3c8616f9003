"""``Emitter``: what the graph's nodes and the executor send a run's events through.

A protocol at the bottom of the orchestrator, so that ``relay/`` and ``graph/`` emit without
importing ``runs/``, which implements it (``runs.emitter.RunEvents``) and sits above them.
Two doors, one path: ``emit`` takes a typed payload (``mesh_contracts.run_events``) on the
cold paths; ``relay`` takes a worker event as the executor read it, ``(type, body)`` with no
pydantic, once per relayed token. ``persisted`` waits until what was emitted is stored: a
call that must never run twice is logged before it goes out.

``TokenBytes`` rides along a block of plain tokens from the worker's read to the writers
(the client's frames, the store's row): the tokens' JSON bytes as the worker sent them.
"""

from __future__ import annotations

from typing import Any, Protocol

from mesh_contracts import RunPayload


class TokenBytes:
    """The plain tokens of one block read from a worker, as bytes: ``tokens`` each token's
    JSON string as the worker wrote it, quotes cut, none holding a backslash (so each is
    byte for byte what orjson writes for the token's text: valid UTF-8, no control
    character, no quote); ``stamp`` what each token event's ``data`` holds after the token
    (``,"attempt":N``, or nothing); ``first`` the seq of the block's first event, set when
    it is published (``EventMux.publish_many``).

    The block's frames and its stored row are then made from these bytes a block at a time
    (``runs.events.encode_frames``, ``runs.store.event_rows``), where each event's ``data``
    cost an ``orjson.dumps`` (bench/README.md, "Round 10: steady streaming")."""

    __slots__ = ("first", "stamp", "tokens")

    def __init__(self, tokens: list[bytes], stamp: bytes) -> None:
        self.tokens = tokens
        self.stamp = stamp
        self.first = 0


class Emitter(Protocol):
    """What the graph's nodes and the executor emit through (tests pass a recording fake)."""

    def emit(
        self, payload: RunPayload, task_id: str | None = None, agent_id: str | None = None
    ) -> None: ...

    def relay(
        self, type_: str, body: dict[str, Any], task_id: str | None, agent_id: str | None
    ) -> None: ...

    def relay_many(
        self,
        items: list[tuple[str, dict[str, Any]]],
        task_id: str | None,
        agent_id: str | None,
        raw: TokenBytes | None = None,
    ) -> None:
        """The events of one block, in order; ``raw``: the same block's plain tokens as
        bytes, when every event is one (what its frames and row are made from)."""
        ...

    async def persisted(self) -> bool:
        """Wait until what was emitted so far is stored (False: not within a bound)."""
        ...
