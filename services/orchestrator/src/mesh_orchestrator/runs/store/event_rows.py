"""A run's event log as rows, for both run stores (one schema, two drivers): the row codec
and the SQL of one page.

An event's row is ``(run_id, seq, type, task_id, agent_id, data, ts)``. A relayed worker
block's tokens (consecutive ``seq`` of one task, one timestamp: what
``EventMux.publish_many`` publishes) share **one** row instead: ``type`` is ``TOKEN_BLOCK``,
``seq`` the block's last, ``data`` the JSON array of the events' ``data`` (each as it would
be stored alone), ``ts`` their timestamp. Inserting a row costs the store about as much as
the whole relay of an event (bench/README.md, "Tokens stored in blocks"); a block of 30
costs one. Readers get the events back one by one (``events_from_rows``); rows written one
per event (older logs, other types) read as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson

from mesh_contracts import StreamEvent
from mesh_orchestrator.runs.events import RelayedEvent, block_span
from mesh_orchestrator.runs.store.base import StoredEvent

#: ``type`` of a row that holds a block of token events (never a ``StreamEvent`` type).
TOKEN_BLOCK = "token_block"
#: The most events one row holds.
MAX_BLOCK = 256
COLUMNS = "run_id, seq, type, task_id, agent_id, data, ts"

_DECODER = json.JSONDecoder()


def _data_text(e: StoredEvent) -> str:
    return e.data_json() if isinstance(e, RelayedEvent) else json.dumps(e.data, default=str)


def _block_text(block: Sequence[StoredEvent]) -> str:
    """``data`` of a block: its events' ``data``, each as stored alone, as one JSON array."""
    if isinstance(block[0], RelayedEvent):
        try:  # orjson writes each element as ``data_json`` does: one call for the block
            return orjson.dumps([e.data for e in block]).decode()
        except TypeError:
            pass
    return "[" + ",".join([_data_text(e) for e in block]) + "]"


def _token_block_text(e: RelayedEvent, m: int) -> str:
    """``_block_text`` of ``m`` events from ``e`` on, a ``block_span`` of its token block:
    the block's JSON strings joined (what orjson writes for each event's ``data``)."""
    b = e.block
    assert b is not None
    off = e.seq - b.first
    tail = b.stamp + b"}"
    return b"".join(
        (b'[{"token":', (tail + b',{"token":').join(b.tokens[off : off + m]), tail, b"]")
    ).decode()


def event_rows(events: Sequence[StoredEvent]) -> list[tuple[Any, ...]]:
    """The rows of ``events`` (in the order given): each run of tokens that continue one
    another (next seq, same run, task, agent and timestamp) in one row, at most
    ``MAX_BLOCK``; every other event in its own."""
    rows: list[tuple[Any, ...]] = []
    i, n = 0, len(events)
    while i < n:
        e = events[i]
        j = i + 1
        if type(e) is RelayedEvent and e.block is not None:  # a worker block's: checked in C
            m = block_span(events, i, MAX_BLOCK)
            if m > 1:
                data = _token_block_text(e, m)
                rows.append(
                    (e.run_id, e.seq + m - 1, TOKEN_BLOCK, e.task_id, e.agent_id, data, e.ts)
                )
                i += m
                continue
        elif e.type == "token":
            run_id, task_id, agent_id, ts, seq = e.run_id, e.task_id, e.agent_id, e.ts, e.seq
            end = min(n, i + MAX_BLOCK)
            while j < end:
                f = events[j]
                if (
                    f.seq != seq + j - i
                    or f.type != "token"
                    or f.ts != ts
                    or f.run_id != run_id
                    or f.task_id != task_id
                    or f.agent_id != agent_id
                ):
                    break
                j += 1
        if j - i == 1:
            rows.append((e.run_id, e.seq, e.type, e.task_id, e.agent_id, _data_text(e), e.ts))
        else:
            block = events[i:j]
            data = _block_text(block)
            rows.append((e.run_id, block[-1].seq, TOKEN_BLOCK, e.task_id, e.agent_id, data, e.ts))
        i = j
    return rows


def _expand(row: Sequence[Any]) -> Iterator[tuple[int, str, Any, int]]:
    """``(seq, type, data, size)`` of each event of a row. A block's events divide its
    ``data``'s length between them (a separator each, the brackets to the first), so the
    sizes of a page of rows add up to the ``length(data)`` that ``page_query`` sums."""
    seq, type_, data = row[1], row[2], row[5]
    if type_ != TOKEN_BLOCK:
        yield seq, type_, json.loads(data), len(data)
        return
    items: list[tuple[Any, int]] = []
    i = 1
    while data[i] != "]":
        value, end = _DECODER.raw_decode(data, i)
        items.append((value, end - i + 1))
        i = end if data[end] == "]" else end + 1
    first = seq - len(items) + 1
    for k, (value, size) in enumerate(items):
        yield first + k, "token", value, size + (1 if k == 0 else 0)


def events_from_rows(
    rows: Iterable[Sequence[Any]], after: int, limit: int | None, max_bytes: int | None
) -> list[StreamEvent]:
    """One page of the log from ``page_query``'s rows: the events with ``seq > after``, at
    most ``limit``, and no more than ``max_bytes`` of stored data (but always the first)."""
    out: list[StreamEvent] = []
    size = 0
    last = after
    for row in rows:
        for seq, type_, data, n in _expand(row):
            if seq <= last:  # before the page, or stored twice (a retried flush)
                continue
            if limit is not None and len(out) >= limit:
                return out
            if max_bytes is not None and out and size + n > max_bytes:
                return out
            size += n
            last = seq
            run_id, task_id, agent_id, ts = row[0], row[3], row[4], row[6]
            out.append(
                StreamEvent(
                    run_id=run_id,
                    seq=seq,
                    type=type_,
                    task_id=task_id,
                    agent_id=agent_id,
                    data=data,
                    ts=ts,
                )
            )
    return out


def page_query(
    table: str, mark: str, run_id: str, after: int, limit: int | None, max_bytes: int | None
) -> tuple[str, tuple[Any, ...]]:
    """The SQL of the rows of one page of a run's log (``RunStore.events_after``; cut to
    the page by ``events_from_rows``), with ``mark`` as the driver's placeholder. A row
    holds at least one event past ``after``, so ``limit`` rows are enough; with
    ``max_bytes``, the rows end after the one that takes the page past it (the events
    that still fit may be at its start)."""
    base = f"SELECT {COLUMNS} FROM {table} WHERE run_id = {mark} AND seq > {mark} ORDER BY seq"
    args: tuple[Any, ...] = (run_id, after)
    if limit is not None:
        base += f" LIMIT {mark}"
        args += (limit,)
    if max_bytes is None:
        return base, args
    sized = (
        f"SELECT {COLUMNS}, SUM(length(data)) OVER (ORDER BY seq) - length(data) AS before, "
        f"ROW_NUMBER() OVER (ORDER BY seq) AS n FROM ({base}) AS page"
    )
    sql = f"SELECT {COLUMNS} FROM ({sized}) AS sized WHERE n = 1 OR before < {mark} ORDER BY seq"
    return sql, (*args, max_bytes)


def count_events(array_length: str) -> str:
    """SQL of how many events the rows selected hold (a block counts its events), with
    ``array_length`` the driver's JSON array length of ``data``."""
    return f"COALESCE(SUM(CASE WHEN type = '{TOKEN_BLOCK}' THEN {array_length} ELSE 1 END), 0)"
