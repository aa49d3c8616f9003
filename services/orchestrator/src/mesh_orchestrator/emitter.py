"""``Emitter``: what the graph's nodes and the executor send a run's events through.

A protocol at the bottom of the orchestrator, so that ``relay/`` and ``graph/`` emit without
importing ``runs/``, which implements it (``runs.emitter.RunEvents``) and sits above them.
Two doors, one path: ``emit`` takes a typed payload (``mesh_contracts.run_events``, or
its body made without the model, ``mesh_contracts.event_bodies``) on the cold paths; ``relay`` takes a worker event as the executor read it, ``(type, body)`` with no
pydantic, once per relayed token. ``persisted`` waits until what was emitted is stored: a
call that must never run twice is logged before it goes out.

``TokenBytes`` is how a block of plain tokens read from a worker travels from the read to
the writers (the client's frames, the store's row): as the worker's bytes, relayed with
``relay_many`` like any block.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol, overload

from mesh_contracts import RunPayload
from mesh_contracts.event_bodies import Made

Relayable = tuple[str, dict[str, Any]]  # (type, body): a worker event without its "type" key


class TokenBytes(Sequence[Relayable]):
    """The events of one block read from a worker when every one is a plain token: as a
    sequence, the ``("token", body)`` pairs the frame-by-frame path makes of them (``body``
    stamped with the call's ``attempt`` when given), made when asked.

    What the relay keeps instead: ``tokens``, each token's text as a JSON string (quotes
    included) byte for byte as orjson writes it (the worker's own bytes where the block held
    no escape); ``texts``, the texts (what an output fold appends); ``attempt``; and
    ``first``, the seq of the block's first event once it is published
    (``EventMux.publish_many``). The events of a published block hold it, not a ``data``
    dict each (``RelayedEvent.data`` is made from it when read), and their frames and stored
    row are made from ``tokens`` a block at a time (``runs.events.encode_frames``,
    ``runs.store.event_rows``): bench/README.md, "Round 10: steady streaming"."""

    __slots__ = ("attempt", "first", "stamp", "texts", "tokens")

    def __init__(self, tokens: list[bytes], texts: list[str], attempt: int | None) -> None:
        self.tokens = tokens
        self.texts = texts
        self.attempt = attempt
        # What each event's ``data`` JSON holds after its token.
        self.stamp = b"" if attempt is None else b',"attempt":%d' % attempt
        self.first = 0

    def body(self, i: int) -> dict[str, Any]:
        """The ``i``-th event's ``data``: a new dict each time."""
        if self.attempt is None:
            return {"token": self.texts[i]}
        return {"token": self.texts[i], "attempt": self.attempt}

    def __len__(self) -> int:
        return len(self.texts)

    def __iter__(self) -> Iterator[Relayable]:
        for i in range(len(self.texts)):
            yield "token", self.body(i)

    @overload
    def __getitem__(self, i: int) -> Relayable: ...
    @overload
    def __getitem__(self, i: slice) -> list[Relayable]: ...
    def __getitem__(self, i: int | slice) -> Relayable | list[Relayable]:
        if isinstance(i, slice):
            return [("token", self.body(k)) for k in range(*i.indices(len(self.texts)))]
        return "token", self.body(range(len(self.texts))[i])


class Emitter(Protocol):
    """What the graph's nodes and the executor emit through (tests pass a recording fake)."""

    def emit(
        self, payload: RunPayload | Made, task_id: str | None = None, agent_id: str | None = None
    ) -> None: ...

    def relay(
        self, type_: str, body: dict[str, Any], task_id: str | None, agent_id: str | None
    ) -> None: ...

    def relay_many(
        self, items: Sequence[Relayable], task_id: str | None, agent_id: str | None
    ) -> None:
        """The events of one block, in order (a ``TokenBytes`` for a block of plain
        tokens)."""
        ...

    async def persisted(self) -> bool:
        """Wait until what was emitted so far is stored (False: not within a bound)."""
        ...
