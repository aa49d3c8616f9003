"""One numbered event of a run, encoded for the wire and the run store without pydantic.

``StreamEvent`` (mesh_contracts) is the wire contract; building and dumping a pydantic model
per relayed token cost more than the rest of the relay, so the multiplexer keeps this
slotted record instead and encodes it with orjson: byte for byte what
``encode_event(StreamEvent(...).model_dump_json(), id=seq)`` writes (a test holds the two
together). ``encode_frames`` writes a batch of them as one chunk, the fields that events of
one block share (run, type, task, agent, timestamp) encoded once, and the events of a block
of plain tokens (``block``: the worker's bytes, ``emitter.TokenBytes``) in one ``%`` for the
block. Anything orjson cannot encode (non-string keys, integers past 64 bits, exotic
types) takes the pydantic path, so the wire never changes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import repeat
from operator import attrgetter
from typing import Any

import orjson

from mesh_contracts import (
    StreamEvent,
    StreamEventType,
    encode_event,
    encode_json_frame,
    json_frame_template,
)
from mesh_orchestrator.emitter import TokenBytes

_SEQ = attrgetter("seq")
_BLOCK, _NONE = repeat("block"), repeat(None)


class RelayedEvent:
    """A ``StreamEvent``'s fields. The frame is made when written, not kept: a live run's
    log stays in memory, and most events are written once, to one listener. ``block``: the
    worker block of plain tokens it came in (``TokenBytes``), else None; such an event is
    made with no ``data``, which is made from the block when read (a token event's ``data``
    is read by nothing on the relay's way: its frame and row come from the block)."""

    __slots__ = ("_data", "agent_id", "block", "run_id", "seq", "task_id", "ts", "type")

    def __init__(
        self,
        run_id: str,
        seq: int,
        type: StreamEventType,
        task_id: str | None,
        agent_id: str | None,
        data: dict[str, Any] | None,
        ts: float,
        block: TokenBytes | None = None,
    ) -> None:
        self.run_id = run_id
        self.seq = seq
        self.type: StreamEventType = type
        self.task_id = task_id
        self.agent_id = agent_id
        self._data = data
        self.ts = ts
        self.block = block

    @property
    def data(self) -> dict[str, Any]:
        data = self._data
        if data is None:
            assert self.block is not None  # only a block's events are made without
            data = self._data = self.block.body(self.seq - self.block.first)
        return data

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self._data = value

    @classmethod
    def of(cls, e: StreamEvent) -> RelayedEvent:
        return cls(e.run_id, e.seq, e.type, e.task_id, e.agent_id, e.data, e.ts)

    def model(self) -> StreamEvent:
        """The contract model of this event (validated)."""
        return StreamEvent(
            run_id=self.run_id,
            seq=self.seq,
            type=self.type,
            task_id=self.task_id,
            agent_id=self.agent_id,
            data=self.data,
            ts=self.ts,
        )

    def frame(self) -> bytes:
        """``id: <seq>`` + ``data: <StreamEvent JSON>``: one SSE frame."""
        try:
            body = orjson.dumps(
                {
                    "run_id": self.run_id,
                    "seq": self.seq,
                    "type": self.type,
                    "task_id": self.task_id,
                    "agent_id": self.agent_id,
                    "data": self.data,
                    "ts": self.ts,
                }
            )
        except TypeError:
            return encode_event(self.model().model_dump_json(), id=self.seq)
        # Compact JSON has no raw line breaks: one ``data:`` line.
        return encode_json_frame(body, self.seq)

    def data_json(self) -> str:
        """``data`` as JSON text, for the run store."""
        try:
            return orjson.dumps(self.data).decode()
        except TypeError:
            return json.dumps(self.data, default=str)


def block_span(events: Sequence[Any], i: int, limit: int | None = None) -> int:
    """How many of ``events[i:]``, from the ``i``-th on, are the next events of
    ``events[i]``'s token block, in seq order (0 when it has none), at most ``limit``:
    each of them is then ``block.tokens[seq - block.first]`` with the block's ``stamp``.
    Checked in C (two ``map``s), never assumed: a listener's batch may start or end inside
    a block, and the store's may hold ``StreamEvent``s (no ``block``). Only the span asked
    for is checked: a caller that cuts a block into rows of ``limit`` events checks each
    event once, not the block's whole rest at each row."""
    e = events[i]
    b: TokenBytes | None = getattr(e, "block", None)
    if b is None:
        return 0
    seq: int = e.seq
    m = min(len(b.tokens) - (seq - b.first), len(events) - i)
    if limit is not None and m > limit:
        m = limit
    if m <= 1:
        return m
    span = events[i : i + m]
    if (
        list(map(_SEQ, span)) != list(range(seq, seq + m))
        or list(map(getattr, span, _BLOCK, _NONE)).count(b) != m
    ):
        return 1
    return m


def _span_in_order(events: Sequence[RelayedEvent], i: int) -> int:
    """``block_span`` of a batch known to be consecutive events of one run in seq order (a
    subscription's): the block's next events are then the next in the batch, and only the
    span's last is looked at."""
    e = events[i]
    b = e.block
    assert b is not None
    m = min(len(b.tokens) - (e.seq - b.first), len(events) - i)
    if m > 1:
        last = events[i + m - 1]
        if last.block is not b or last.seq != e.seq + m - 1:
            return 1
    return m


def _token_frames(events: Sequence[RelayedEvent], i: int, m: int) -> bytes:
    """The frames of ``events[i : i + m]``, ``block_span`` events of one token block: one
    template for the block, repeated, filled by one ``%`` (each event's seq twice and its
    token's JSON string, what orjson writes for its text)."""
    e = events[i]
    b = e.block
    assert b is not None
    off = e.seq - b.first
    dumps = orjson.dumps
    template = json_frame_template(
        b'{"run_id":' + dumps(e.run_id) + b',"seq":',
        b',"type":' + dumps(e.type) + b',"task_id":' + dumps(e.task_id)
        + b',"agent_id":' + dumps(e.agent_id) + b',"data":{"token":',
        b.stamp + b'},"ts":' + dumps(e.ts) + b"}",
    )  # fmt: skip
    seqs = range(e.seq, e.seq + m)
    args: list[Any] = [None] * (3 * m)
    args[0::3] = seqs
    args[1::3] = seqs
    args[2::3] = b.tokens[off : off + m]
    return (template * m) % tuple(args)


def encode_frames(events: Sequence[RelayedEvent], *, in_order: bool = False) -> bytes:
    """The SSE frames of ``events`` as one chunk: byte for byte ``b"".join(e.frame() for e in
    events)`` (a test holds them equal).

    The events of one worker block (``EventMux.publish_many``) hold the same run, type, task,
    agent and timestamp objects: those fields make one ``%`` template (``json_frame_template``)
    for the run of events that shares them (checked by identity, so any other event simply
    starts a new run), and each event then costs one ``orjson.dumps`` of its data and one
    ``%`` of the template, joined once. A block of plain tokens (``block_span``) costs one
    ``%`` for the block, its tokens' bytes as the worker sent them. ``in_order``: the caller
    vouches that ``events`` are consecutive events of one run, in seq order (what a
    subscription's batch is), and a block's span is then read from its ends.
    """
    n = len(events)
    if n == 1:  # a run's own events and the first token come alone
        return events[0].frame()
    out: list[bytes] = []
    append = out.append
    prev: RelayedEvent | None = None
    template = b""
    dumps = orjson.dumps
    i = 0
    while i < n:
        e = events[i]
        if (
            e.block is not None
            and (m := _span_in_order(events, i) if in_order else block_span(events, i)) > 1
        ):
            append(_token_frames(events, i, m))
            i += m
            continue
        i += 1
        if (
            prev is None
            or e.ts is not prev.ts
            or e.task_id is not prev.task_id
            or e.type is not prev.type
            or e.agent_id is not prev.agent_id
            or e.run_id is not prev.run_id
        ):
            template = json_frame_template(
                b'{"run_id":' + dumps(e.run_id) + b',"seq":',
                b',"type":' + dumps(e.type) + b',"task_id":' + dumps(e.task_id)
                + b',"agent_id":' + dumps(e.agent_id) + b',"data":',
                b',"ts":' + dumps(e.ts) + b"}",
            )  # fmt: skip
            prev = e
        try:
            append(template % (e.seq, e.seq, dumps(e.data)))
        except TypeError:  # the pydantic path, as ``frame``
            append(e.frame())
    return b"".join(out)
