"""The run store's rows: the columns of a run, and their codec, which the
SQLite and Postgres stores share (one schema, two drivers).

A run's row is ``COLUMNS`` in order (``run_row``/``run_from_row``); the event log's rows
are ``event_rows``' (a block of tokens in one).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import orjson

from mesh_orchestrator.runs.store.base import RunRecord

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
# What a save of a stored row changes: ``SAVED`` less the key and the two columns a run
# never changes (its query and when it was made, both set when its record is made and read
# back as they were). Set again at each save, ``created_at`` made SQLite rewrite the run's
# entry in the ``runs_created`` index at every flush that saved the row (an index whose
# column a SET names is rewritten whatever the value): a WAL frame, a page, a flush.
UPDATED = ", ".join(c for c in SAVED.split(", ") if c not in ("run_id", "query", "created_at"))


def _json(value: Any) -> str:
    """``value`` as JSON text: orjson's (compact; a run's row is encoded at its admission
    and at each flush that stores it, and ``json.dumps`` of a plan cost several times
    orjson's), else, for what orjson does not take (non-string keys, integers past 64
    bits, other types), ``json.dumps(value, default=str)`` as before. ``json.loads`` reads
    both alike. orjson writes a NaN or an infinity as null (``json.dumps`` wrote ``NaN``,
    which is not JSON): a row holds none, the plan's nodes are pydantic's JSON-mode dumps
    (which write them as None) and the options the API's, which refuses them."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, default=str)


def run_row(run: RunRecord) -> tuple[Any, ...]:
    """The values of ``COLUMNS``, in order: read from the record's ``__dict__`` (one
    attribute read of the model, not 16: a row is made at the admission and at each flush
    that stores the run, ~4 a pinned run)."""
    f = run.__dict__
    plan = f["plan"]
    return (
        f["run_id"],
        f["query"],
        f["status"],
        f["created_at"],
        f["finished_at"],
        None if plan is None else _json(plan),
        f["answer"],
        f["last_seq"],
        _json(f["options"]),
        f["seq_reserved"],
        f["lease_owner"],
        f["epoch"],
        f["lease_expires_at"],
        int(f["cancel_requested"]),
        f["owner"],
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


def token_wait(row: Sequence[Any] | None, now: float, rate: float, burst: int) -> float:
    """Seconds until the bucket (``tokens``, ``at``) holds a whole token again."""
    if row is None:
        return 0.0
    tokens = min(float(burst), float(row[0]) + max(0.0, now - float(row[1])) * rate)
    return max(0.0, (1.0 - tokens) / rate)


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
