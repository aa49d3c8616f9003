"""The run store's rows: the columns of a run and of an event, and their codec, which the
SQLite and Postgres stores share (one schema, two drivers).

A run's row is ``COLUMNS`` in order (``run_row``/``run_from_row``); an event's is
``(run_id, seq, type, task_id, agent_id, data, ts)`` (``event_row``/``event_from_row``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mesh_contracts import StreamEvent
from mesh_orchestrator.runs.events import RelayedEvent
from mesh_orchestrator.runs.store.base import RunRecord, StoredEvent

# Made after ADDED_COLUMNS (they index added columns).
INDEXES = "CREATE INDEX IF NOT EXISTS {runs}_owner ON {runs} (owner, status)"
# Columns added after the first schema, each (name, SQL type with default): a database
# made by an older version gets them on open (ALTER TABLE ADD COLUMN), nothing is lost.
ADDED_COLUMNS = [
    ("lease_owner", "TEXT"),
    ("epoch", "INTEGER NOT NULL DEFAULT 0"),
    ("lease_expires_at", "REAL"),
    ("seq_reserved", "INTEGER NOT NULL DEFAULT 0"),
    ("cancel_requested", "INTEGER NOT NULL DEFAULT 0"),
    ("owner", "TEXT"),  # written on insert only: a run never changes hands
]
# What save_run writes (the lease columns only on insert).
SAVED = (
    "run_id, query, status, created_at, finished_at, plan, answer, last_seq, options, seq_reserved"
)
LEASE = "lease_owner, epoch, lease_expires_at, cancel_requested"
COLUMNS = f"{SAVED}, {LEASE}, owner"


def run_row(run: RunRecord) -> tuple[Any, ...]:
    """The values of ``COLUMNS``, in order."""
    return (
        run.run_id,
        run.query,
        run.status,
        run.created_at,
        run.finished_at,
        None if run.plan is None else json.dumps(run.plan, default=str),
        run.answer,
        run.last_seq,
        json.dumps(run.options),
        run.seq_reserved,
        run.lease_owner,
        run.epoch,
        run.lease_expires_at,
        int(run.cancel_requested),
        run.owner,
    )


def run_from_row(row: Sequence[Any]) -> RunRecord:
    return RunRecord(
        run_id=row[0],
        query=row[1],
        status=row[2],
        created_at=row[3],
        finished_at=row[4],
        plan=None if row[5] is None else json.loads(row[5]),
        answer=row[6],
        last_seq=row[7],
        options=json.loads(row[8] or "{}"),
        seq_reserved=row[9] or 0,
        lease_owner=row[10],
        epoch=row[11] or 0,
        lease_expires_at=row[12],
        cancel_requested=bool(row[13]),
        owner=row[14],
    )


def event_row(e: StoredEvent) -> tuple[Any, ...]:
    data = e.data_json() if isinstance(e, RelayedEvent) else json.dumps(e.data, default=str)
    return (e.run_id, e.seq, e.type, e.task_id, e.agent_id, data, e.ts)


def event_from_row(row: Sequence[Any]) -> StreamEvent:
    return StreamEvent(
        run_id=row[0],
        seq=row[1],
        type=row[2],
        task_id=row[3],
        agent_id=row[4],
        data=json.loads(row[5]),
        ts=row[6],
    )


def token_wait(row: Sequence[Any] | None, now: float, rate: float, burst: int) -> float:
    """Seconds until the bucket (``tokens``, ``at``) holds a whole token again."""
    if row is None:
        return 0.0
    tokens = min(float(burst), float(row[0]) + max(0.0, now - float(row[1])) * rate)
    return max(0.0, (1.0 - tokens) / rate)


def page_query(
    table: str, mark: str, run_id: str, after: int, limit: int | None, max_bytes: int | None
) -> tuple[str, tuple[Any, ...]]:
    """The SQL of one page of a run's log (``RunStore.events_after``), with ``mark`` as the
    driver's placeholder. With ``max_bytes``, the page ends before the event whose ``data``
    would take the page past it (the first event always comes)."""
    columns = "run_id, seq, type, task_id, agent_id, data, ts"
    base = f"SELECT {columns} FROM {table} WHERE run_id = {mark} AND seq > {mark} ORDER BY seq"
    args: tuple[Any, ...] = (run_id, after)
    if limit is not None:
        base += f" LIMIT {mark}"
        args += (limit,)
    if max_bytes is None:
        return base, args
    sized = (
        f"SELECT {columns}, SUM(length(data)) OVER (ORDER BY seq) AS upto, "
        f"ROW_NUMBER() OVER (ORDER BY seq) AS n FROM ({base}) AS page"
    )
    sql = f"SELECT {columns} FROM ({sized}) AS sized WHERE n = 1 OR upto <= {mark} ORDER BY seq"
    return sql, (*args, max_bytes)


def owner_clause(
    column: str, owners: Sequence[str] | None, exclude: Sequence[str], mark: str
) -> tuple[str, list[Any]]:
    """The retention sweep's owner filter (`` AND ...``, and its arguments) on ``column``:
    one of ``owners``; None: any owner (or none) not in ``exclude``. ``mark``: ``?`` or ``%s``."""
    if owners is not None:
        if not owners:
            return " AND 1 = 0", []
        return f" AND {column} IN ({','.join([mark] * len(owners))})", list(owners)
    if exclude:
        marks = ",".join([mark] * len(exclude))
        return f" AND ({column} IS NULL OR {column} NOT IN ({marks}))", list(exclude)
    return "", []
