"""Production run store on Postgres (psycopg 3, async pool): any number of replicas.

Fencing is done by the database: an event batch is written in one transaction that first
locks the rows of its runs (``FOR SHARE``) and keeps only the runs whose epoch is still the
writer's, and a claim (``UPDATE ... epoch = epoch + 1``) waits for that lock, so a claim
and a stale owner's write can never interleave. Each stored batch sends a
``NOTIFY mesh_run_events`` (payload: the run ids) in the same transaction, as does a run's
row saved parked or ended, and a cancel on any replica a ``NOTIFY mesh_run_cancel``: other
replicas ``listen`` to follow a run live (woken, never polling) or to stop one they execute.
An admission (``admit``) holds a transaction lock on its owner's name while it counts, so
two replicas admitting runs of one client at once cannot both take its last place.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

import orjson
import psycopg
from psycopg_pool import AsyncConnectionPool

from mesh_contracts import StreamEvent
from mesh_orchestrator.runs.store.base import (
    IN_PROGRESS,
    NO_LIMIT,
    Fenced,
    RunRecord,
    StoredEvent,
)
from mesh_orchestrator.runs.store.deliveries import PG_ENQUEUE, Delivery, delivery_row
from mesh_orchestrator.runs.store.event_rows import (
    count_events,
    event_rows,
    events_from_rows,
    page_query,
)
from mesh_orchestrator.runs.store.group_insert import GroupInsert
from mesh_orchestrator.runs.store.rows import (
    ADDED_COLUMNS,
    COLUMNS,
    INDEXES,
    UPDATED,
    run_from_row,
    run_row,
    token_wait,
)

EVENTS_CHANNEL = "mesh_run_events"
SCHEMA_LOCK = 0x6D657368  # "mesh": the advisory lock held while the schema is made
ADMIT_LOCK = 0x6D657371  # with hashtext(owner): one admission per client at a time
CANCEL_CHANNEL = "mesh_run_cancel"

SCHEMA = """
CREATE TABLE IF NOT EXISTS mesh_runs (
    run_id TEXT PRIMARY KEY, query TEXT NOT NULL, status TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL, finished_at DOUBLE PRECISION, plan TEXT,
    answer TEXT, last_seq INTEGER NOT NULL DEFAULT 0, options TEXT NOT NULL DEFAULT '{}',
    inserted BIGSERIAL
);
CREATE INDEX IF NOT EXISTS mesh_runs_created ON mesh_runs (created_at DESC);
CREATE TABLE IF NOT EXISTS mesh_run_events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, task_id TEXT,
    agent_id TEXT, data TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL, PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS mesh_rate_buckets (
    key TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS mesh_run_pauses (
    run_id TEXT PRIMARY KEY, cancel_running INTEGER NOT NULL, at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS mesh_run_pins (run_id TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS mesh_singletons (
    name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL
);
"""
# One token from a bucket, or nothing, in one statement (see the SQLite store's TAKE_TOKEN):
# the conflicting row is locked, so replicas taking at once never both get the last token.
TAKE_TOKEN = """
INSERT INTO mesh_rate_buckets (key, tokens, at) VALUES (%(key)s, %(burst)s - 1, %(now)s)
ON CONFLICT (key) DO UPDATE SET
    tokens = LEAST(%(burst)s, mesh_rate_buckets.tokens
                   + GREATEST(0, %(now)s - mesh_rate_buckets.at) * %(rate)s) - 1,
    at = %(now)s
WHERE LEAST(%(burst)s, mesh_rate_buckets.tokens
            + GREATEST(0, %(now)s - mesh_rate_buckets.at) * %(rate)s) >= 1
RETURNING key
"""
_PG_TYPES = {"REAL": "DOUBLE PRECISION"}


_UPDATES = ", ".join(f"{c} = EXCLUDED.{c}" for c in UPDATED.split(", "))
_WIDTH = len(COLUMNS.split(", "))


@functools.lru_cache(maxsize=64)
def save_runs_sql(n: int) -> str:
    """A flush's statement for ``n`` run rows, with Postgres' own ``$k`` placeholders (run by
    a raw cursor: psycopg parses no query text). psycopg caches its parse of a ``%s`` query
    of at most 50 parameters only: this one, 15 a row, was parsed anew at every flush of
    more than three runs."""
    marks = ",".join(
        "(" + ",".join(f"${i * _WIDTH + j + 1}" for j in range(_WIDTH)) + ")" for i in range(n)
    )
    return (
        f"INSERT INTO mesh_runs ({COLUMNS}) VALUES {marks} ON CONFLICT (run_id) "
        f"DO UPDATE SET {_UPDATES} WHERE mesh_runs.epoch = EXCLUDED.epoch RETURNING run_id"
    )


# A flush's event rows in one statement of one parameter: the rows as one JSON array of
# arrays (orjson, in C), taken apart by the server. ``executemany`` sent a Bind and an
# Execute a row (~9 a run), each dumped and queued by psycopg's Python. A float goes
# through JSON as its shortest text, which Postgres reads back to the same double; a
# text orjson refuses (a lone surrogate) psycopg could not send either.
_EVENTS_FROM_JSON = (
    "INSERT INTO mesh_run_events SELECT e->>0, (e->>1)::int, e->>2, e->>3, e->>4, e->>5, "
    "(e->>6)::float8 FROM json_array_elements(%s::json) AS e"
)
INSERT_EVENTS = f"{_EVENTS_FROM_JSON} ON CONFLICT DO NOTHING"
# ``INSERT_EVENTS``, each row stored only while its run's stored epoch is the writer's (the
# row's eighth value; null: stored whatever the run's row says, as ``store_batch`` stores
# the events of a run it was given no epoch for).
INSERT_EVENTS_FENCED = (
    f"{_EVENTS_FROM_JSON} WHERE e->>7 IS NULL OR NOT EXISTS (SELECT 1 FROM mesh_runs r "
    "WHERE r.run_id = e->>0 AND r.epoch <> (e->>7)::int) ON CONFLICT DO NOTHING"
)
# The rows of the runs a flush stores events of but no row: locked against a claim until
# its commit, in one order (no two writers deadlock), their epochs read.
LOCK_RUNS = "SELECT run_id, epoch FROM mesh_runs WHERE run_id = ANY(%s) ORDER BY run_id FOR SHARE"


def _json(rows: list[tuple[Any, ...]]) -> str:
    return orjson.dumps(rows).decode()


def _fenced_events(
    runs: Sequence[RunRecord], events: Sequence[StoredEvent], epochs: Mapping[str, int]
) -> str:
    """The flush's event rows as ``INSERT_EVENTS_FENCED``'s parameter, each with its
    writer's epoch: the record's for a run whose row the flush stores (refused with it),
    else ``epochs``' (None: none)."""
    writers: dict[str, int] = {**epochs, **{r.run_id: r.epoch for r in runs}}
    return _json([(*row, writers.get(row[0])) for row in event_rows(events)])


MAX_PAYLOAD = 7900  # bytes of a NOTIFY payload (Postgres takes up to 8000)


def _payloads(run_ids: Iterable[str]) -> list[str]:
    """The run ids as NOTIFY payloads (comma-separated), each at most ``MAX_PAYLOAD``."""
    out: list[str] = []
    current = ""
    for run_id in run_ids:
        if current and len(current) + 1 + len(run_id) > MAX_PAYLOAD:
            out.append(current)
            current = ""
        current = f"{current},{run_id}" if current else run_id
    if current:
        out.append(current)
    return out


class PostgresRunStore:
    """Tables ``mesh_runs`` and ``mesh_run_events``, created on ``open``."""

    def __init__(self, url: str, *, max_size: int = 10) -> None:
        self.url = url
        self._pool = AsyncConnectionPool(url, min_size=1, max_size=max_size, open=False)
        # Admissions without a limit: group commit on a connection of their own.
        self._admissions = GroupInsert(url, "mesh_runs", COLUMNS)

    async def open(self) -> None:
        await self._pool.open(wait=True, timeout=5.0)
        # Replicas start together: one creates or migrates the schema at a time (CREATE
        # TABLE IF NOT EXISTS is not safe against a concurrent one in Postgres).
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            await conn.execute(SCHEMA)
            for name, kind in ADDED_COLUMNS:
                kind = _PG_TYPES.get(kind, kind)
                await conn.execute(f"ALTER TABLE mesh_runs ADD COLUMN IF NOT EXISTS {name} {kind}")
            await conn.execute(INDEXES.format(runs="mesh_runs"))

    async def close(self) -> None:
        await self._admissions.close()
        await self._pool.close()

    @property
    def pool(self) -> AsyncConnectionPool:
        """The connection pool (the thread and outbox tables share it)."""
        return self._pool

    @contextlib.asynccontextmanager
    async def autocommit(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection in autocommit for one statement: one round trip, its own
        transaction, committed when it returns. Out of autocommit psycopg opens a
        transaction first (``BEGIN``, a round trip) and the pool's exit commits it
        (another). The connection goes back to the pool as it came."""
        async with self._pool.connection() as conn:
            await conn.set_autocommit(True)
            try:
                yield conn
            finally:  # a statement cut short leaves it busy: the pool drops it then
                with contextlib.suppress(psycopg.Error):
                    await conn.set_autocommit(False)

    async def save_run(self, run: RunRecord, outbox: Sequence[Delivery] = ()) -> None:
        n = len(COLUMNS.split(", "))
        row = run_row(run)
        # The row, its webhook deliveries and the notify: one transaction.
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                f"INSERT INTO mesh_runs ({COLUMNS}) VALUES ({','.join(['%s'] * n)}) "
                f"ON CONFLICT (run_id) DO UPDATE SET {_UPDATES} "
                "WHERE mesh_runs.epoch = EXCLUDED.epoch RETURNING run_id",
                row,
            )
            saved = await cur.fetchone()
            if saved is not None and outbox:
                async with conn.cursor() as c:
                    await c.executemany(PG_ENQUEUE, [delivery_row(d) for d in outbox])
            if saved is not None and run.status != "running":
                # parked or ended: whoever follows the run elsewhere learns it now
                await conn.execute("SELECT pg_notify(%s, %s)", (EVENTS_CHANNEL, run.run_id))
        if saved is None:
            raise Fenced([run.run_id])

    async def append_events(
        self, events: Sequence[StoredEvent], epochs: Mapping[str, int] | None = None
    ) -> set[str]:
        if not events:
            return set()
        fenced: set[str] = set()
        async with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            if epochs:
                ids = sorted({e.run_id for e in events if e.run_id in epochs})
                await cur.execute(
                    "SELECT run_id, epoch FROM mesh_runs WHERE run_id = ANY(%s) FOR SHARE",
                    (ids,),
                )
                stored = {r[0]: r[1] for r in await cur.fetchall()}
                fenced = {r for r in ids if r in stored and stored[r] != epochs[r]}
                if fenced:
                    events = [e for e in events if e.run_id not in fenced]
            if events:
                await cur.execute(INSERT_EVENTS, (_json(event_rows(events)),))
                runs = ",".join(sorted({e.run_id for e in events}))
                await cur.execute("SELECT pg_notify(%s, %s)", (EVENTS_CHANNEL, runs[:7900]))
        return fenced

    async def store_batch(
        self,
        runs: Sequence[RunRecord],
        events: Sequence[StoredEvent],
        epochs: Mapping[str, int],
        outbox: Mapping[str, Sequence[Delivery]] | None = None,
    ) -> set[str]:
        # The rows now, before the first await (the records go on changing meanwhile), in
        # run id order: every writer locks rows in one order, so two never deadlock.
        runs = sorted(runs, key=lambda r: r.run_id)
        rows = [run_row(r) for r in runs]
        if not rows and not events:
            return set()
        outbox = outbox or {}
        if not any(outbox.get(r.run_id) for r in runs):  # no deliveries: all at once
            return await self._store_at_once(runs, rows, events, epochs)
        fenced: set[str] = set()
        saved: set[str] = set()
        notify: list[str] = []
        # In a pipeline: BEGIN and the rows go in one round trip, the events, the notify and
        # COMMIT in another (the deliveries are stored for the rows saved only).
        async with (
            self._pool.connection() as conn,
            conn.pipeline(),
            conn.transaction(),
            conn.cursor() as cur,
        ):
            if rows:  # one statement for every row; those refused are not returned
                async with psycopg.AsyncRawCursor(conn) as raw:
                    await raw.execute(save_runs_sql(len(rows)), [v for row in rows for v in row])
                    saved = {r[0] for r in await raw.fetchall()}
                fenced = {r.run_id for r in runs} - saved
                deliveries = [delivery_row(d) for r in sorted(saved) for d in outbox.get(r, ())]
                if deliveries:
                    await cur.executemany(PG_ENQUEUE, deliveries)
                # parked or ended: whoever follows the run elsewhere learns it now
                notify += [r.run_id for r in runs if r.run_id in saved and r.status != "running"]
            # A run whose row was saved here is locked and has the writer's epoch.
            check = sorted({e.run_id for e in events if e.run_id in epochs} - saved - fenced)
            if check:
                await cur.execute(LOCK_RUNS, (check,))
                fenced |= {r[0] for r in await cur.fetchall() if r[1] != epochs[r[0]]}
            kept = [e for e in events if e.run_id not in fenced] if fenced else events
            if kept:
                await cur.execute(INSERT_EVENTS, (_json(event_rows(kept)),))
                notify += sorted({e.run_id for e in kept})
            for payload in _payloads(dict.fromkeys(notify)):
                await cur.execute("SELECT pg_notify(%s, %s)", (EVENTS_CHANNEL, payload))
        return fenced

    async def _store_at_once(
        self,
        runs: list[RunRecord],
        rows: list[tuple[Any, ...]],
        events: Sequence[StoredEvent],
        epochs: Mapping[str, int],
    ) -> set[str]:
        """``store_batch`` without deliveries, in **one round trip**: every statement in a
        pipeline of one Sync, in autocommit, so they are one implicit transaction,
        committed at the Sync, or rolled back whole if one fails (Postgres' extended
        protocol). The rows, then the other runs' rows locked (``FOR SHARE``, as the
        two-trip path locks them), then the events, each stored only while its run's
        stored epoch is its writer's (``INSERT_EVENTS_FENCED``): the rows are locked by
        then, so that is what the statements before it read, and the same runs are
        refused as the two-trip path refuses them. The notify names every run it was
        given (a fenced run too: a follower woken for it reads the store and finds
        nothing new). The two-trip path waits for the rows' result before it sends the
        events, and opens its transaction in a round trip of its own."""
        check = sorted({e.run_id for e in events if e.run_id in epochs} - {r.run_id for r in runs})
        notify = [r.run_id for r in runs if r.status != "running"]
        notify += sorted({e.run_id for e in events})
        stored = _fenced_events(runs, events, epochs) if events else ""
        async with self.autocommit() as conn:
            raw = psycopg.AsyncRawCursor(conn)
            locked, cur = conn.cursor(), conn.cursor()
            async with conn.pipeline():
                if rows:  # one statement for every row; those refused are not returned
                    await raw.execute(save_runs_sql(len(rows)), [v for row in rows for v in row])
                if check:
                    await locked.execute(LOCK_RUNS, (check,))
                if events:
                    await cur.execute(INSERT_EVENTS_FENCED, (stored,))
                for payload in _payloads(dict.fromkeys(notify)):
                    await cur.execute("SELECT pg_notify(%s, %s)", (EVENTS_CHANNEL, payload))
            fenced = (
                {r.run_id for r in runs} - {r[0] for r in await raw.fetchall()} if rows else set()
            )
            if check:
                fenced |= {r[0] for r in await locked.fetchall() if r[1] != epochs[r[0]]}
        return fenced

    async def claim(self, run_id: str, owner: str, lease_seconds: float) -> RunRecord | None:
        now = time.time()
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE mesh_runs SET lease_owner = %s, epoch = epoch + 1, "
                "lease_expires_at = %s WHERE run_id = %s AND status = 'running' AND "
                "(lease_expires_at IS NULL OR lease_expires_at < %s OR lease_owner = %s) "
                f"RETURNING {COLUMNS}",
                (owner, now + lease_seconds, run_id, now, owner),
            )
            row = await cur.fetchone()
        return None if row is None else run_from_row(row)

    async def claim_waiting(
        self, run_id: str, owner: str, lease_seconds: float
    ) -> RunRecord | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE mesh_runs SET status = 'running', finished_at = NULL, "
                "lease_owner = %s, epoch = epoch + 1, lease_expires_at = %s, "
                "cancel_requested = 0 WHERE run_id = %s AND status = 'awaiting_approval' "
                f"RETURNING {COLUMNS}",
                (owner, time.time() + lease_seconds, run_id),
            )
            row = await cur.fetchone()
        return None if row is None else run_from_row(row)

    async def renew(
        self, epochs: Mapping[str, int], owner: str, lease_seconds: float
    ) -> tuple[set[str], set[str]]:
        if not epochs:
            return set(), set()
        until = time.time() + lease_seconds
        ids = list(epochs)
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE mesh_runs AS r SET lease_expires_at = %s FROM "
                "unnest(%s::text[], %s::int[]) AS l(run_id, epoch) "
                "WHERE r.run_id = l.run_id AND r.epoch = l.epoch AND r.lease_owner = %s "
                "RETURNING r.run_id, r.cancel_requested",
                (until, ids, [epochs[i] for i in ids], owner),
            )
            rows = await cur.fetchall()
        kept = {r[0] for r in rows}
        return set(ids) - kept, {r[0] for r in rows if r[1]}

    async def release(self, run_id: str, epoch: int) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE mesh_runs SET lease_expires_at = 0 WHERE run_id = %s AND epoch = %s",
                (run_id, epoch),
            )

    async def orphans(self, owner: str, limit: int = 100) -> list[str]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT run_id FROM mesh_runs WHERE status = 'running' AND "
                "(lease_expires_at IS NULL OR lease_expires_at < %s OR lease_owner = %s) "
                "ORDER BY created_at LIMIT %s",
                (time.time(), owner, limit),
            )
            return [r[0] for r in await cur.fetchall()]

    async def request_cancel(self, run_id: str) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE mesh_runs SET cancel_requested = 1 WHERE run_id = %s "
                "AND status = 'running' RETURNING run_id",
                (run_id,),
            )
            found = await cur.fetchone() is not None
            if found:
                await conn.execute("SELECT pg_notify(%s, %s)", (CANCEL_CHANNEL, run_id))
        return found

    async def claim_parked(
        self, run_id: str, status: str, owner: str, lease_seconds: float
    ) -> RunRecord | None:
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE mesh_runs SET status = 'running', finished_at = NULL, "
                "lease_owner = %s, epoch = epoch + 1, lease_expires_at = %s, "
                "cancel_requested = 0 WHERE run_id = %s AND status = %s "
                f"RETURNING {COLUMNS}",
                (owner, time.time() + lease_seconds, run_id, status),
            )
            row = await cur.fetchone()
            await conn.execute("DELETE FROM mesh_run_pauses WHERE run_id = %s", (run_id,))
        return None if row is None else run_from_row(row)

    async def request_pause(self, run_id: str, cancel_running: bool) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO mesh_run_pauses (run_id, cancel_running, at) "
                "SELECT %s, %s, %s WHERE EXISTS "
                "(SELECT 1 FROM mesh_runs WHERE run_id = %s AND status = 'running') "
                "ON CONFLICT (run_id) DO UPDATE SET cancel_running = EXCLUDED.cancel_running "
                "RETURNING run_id",
                (run_id, int(cancel_running), time.time(), run_id),
            )
            return await cur.fetchone() is not None

    async def pause_requests(self, run_ids: Sequence[str]) -> dict[str, bool]:
        if not run_ids:
            return {}
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT run_id, cancel_running FROM mesh_run_pauses WHERE run_id = ANY(%s)",
                (list(run_ids),),
            )
            return {r[0]: bool(r[1]) for r in await cur.fetchall()}

    async def clear_pause(self, run_id: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute("DELETE FROM mesh_run_pauses WHERE run_id = %s", (run_id,))

    async def pin(self, run_id: str, pinned: bool) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT 1 FROM mesh_runs WHERE run_id = %s", (run_id,))
            if await cur.fetchone() is None:
                return False
            if pinned:
                await conn.execute(
                    "INSERT INTO mesh_run_pins (run_id, at) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    (run_id, time.time()),
                )
            else:
                await conn.execute("DELETE FROM mesh_run_pins WHERE run_id = %s", (run_id,))
        return True

    async def pinned(self, run_id: str) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT 1 FROM mesh_run_pins WHERE run_id = %s", (run_id,))
            return await cur.fetchone() is not None

    async def take_singleton(self, name: str, owner: str, seconds: float) -> bool:
        now = time.time()
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO mesh_singletons (name, owner, expires_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, "
                "expires_at = EXCLUDED.expires_at WHERE mesh_singletons.owner = EXCLUDED.owner "
                "OR mesh_singletons.expires_at < %s RETURNING name",
                (name, owner, now + seconds, now),
            )
            return await cur.fetchone() is not None

    async def purge(
        self,
        before: float,
        owners: Sequence[str] | None,
        exclude: Sequence[str],
        limit: int,
        only: Sequence[str] | None = None,
    ) -> tuple[int, int]:
        if only is not None and not only:
            return 0, 0
        sql, args = _due_query(before, owners, exclude)
        if only is not None:
            sql += " AND run_id = ANY(%s)"
            args.append(list(only))
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(sql + " ORDER BY finished_at LIMIT %s", (*args, limit))
            ids = [r[0] for r in await cur.fetchall()]
            if not ids:
                return 0, 0
            counted = count_events("json_array_length(data::json)")
            cur = await conn.execute(
                f"SELECT {counted} FROM mesh_run_events WHERE run_id = ANY(%s)", (ids,)
            )
            row = await cur.fetchone()
            events = int(row[0]) if row is not None else 0
            await conn.execute("DELETE FROM mesh_run_events WHERE run_id = ANY(%s)", (ids,))
            await conn.execute("DELETE FROM mesh_run_pauses WHERE run_id = ANY(%s)", (ids,))
            cur = await conn.execute("DELETE FROM mesh_runs WHERE run_id = ANY(%s)", (ids,))
            return cur.rowcount, events

    async def due(
        self,
        before: float,
        owners: Sequence[str] | None,
        exclude: Sequence[str],
        limit: int,
        skip: Sequence[str] = (),
    ) -> list[tuple[str, float]]:
        sql, args = _due_query(before, owners, exclude)
        sql = sql.replace("SELECT run_id", "SELECT run_id, finished_at", 1)
        if skip:
            sql += " AND run_id <> ALL(%s)"
            args.append(list(skip))
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql + " ORDER BY finished_at LIMIT %s", (*args, limit))
            return [(r[0], float(r[1])) for r in await cur.fetchall()]

    async def listen(self, *channels: str) -> AsyncIterator[tuple[str, str]]:
        """``(channel, payload)`` of every notification on ``channels`` until closed, after
        ``("", "")`` once listening (what was sent before is not heard). Its own connection
        (LISTEN needs one that stays), not one from the pool."""
        conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        try:
            for channel in channels:
                await conn.execute(f"LISTEN {channel}")
            yield "", ""
            async for note in conn.notifies():
                yield note.channel, note.payload
        finally:
            await conn.close()

    async def events_after(
        self, run_id: str, after: int = 0, limit: int | None = None, max_bytes: int | None = None
    ) -> list[StreamEvent]:
        sql, args = page_query("mesh_run_events", "%s", run_id, after, limit, max_bytes)
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql, args)
            return events_from_rows(await cur.fetchall(), after, limit, max_bytes)

    async def admit(self, run: RunRecord, limit: int, *, commit: bool = True) -> bool:
        # Committed when it returns, ``commit`` or not (``commit_admitted`` has nothing to do).
        n = len(COLUMNS.split(", "))
        if limit >= NO_LIMIT:  # nothing to count, no lock: the insert is its transaction
            # Committed when it returns, maybe in one statement with other runs' rows that
            # arrived meanwhile (``runs.store.group_insert``); a duplicate id raises.
            await self._admissions.insert(run_row(run))
            return True
        async with self._pool.connection() as conn, conn.transaction():
            # Held to the commit: the next admission of this owner counts this run.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(%s::int, hashtext(%s))", (ADMIT_LOCK, run.owner or "")
            )
            cur = await conn.execute(
                f"INSERT INTO mesh_runs ({COLUMNS}) SELECT {','.join(['%s'] * n)} "
                "WHERE (SELECT count(*) FROM mesh_runs WHERE owner = %s "
                "AND status = ANY(%s)) < %s RETURNING run_id",
                (*run_row(run), run.owner, list(IN_PROGRESS), limit),
            )
            return await cur.fetchone() is not None

    def commit_admitted(self, run_id: str | None = None) -> None:
        """Nothing to commit: ``admit`` commits before it returns."""

    async def runs_in_progress(self, owner: str) -> int:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT count(*) FROM mesh_runs WHERE owner = %s AND status = ANY(%s)",
                (owner, list(IN_PROGRESS)),
            )
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def take_token(self, key: str, rate: float, burst: int) -> float:
        now = time.time()
        args = {"key": key, "now": now, "rate": rate, "burst": burst}
        async with self._pool.connection() as conn:
            cur = await conn.execute(TAKE_TOKEN, args)
            if await cur.fetchone() is not None:
                return 0.0
            cur = await conn.execute(
                "SELECT tokens, at FROM mesh_rate_buckets WHERE key = %s", (key,)
            )
            return token_wait(await cur.fetchone(), now, rate, burst)

    async def get_run(self, run_id: str) -> RunRecord | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {COLUMNS} FROM mesh_runs WHERE run_id = %s", (run_id,)
            )
            row = await cur.fetchone()
        return None if row is None else run_from_row(row)

    async def list_runs(self, limit: int = 20, owner: str | None = None) -> list[RunRecord]:
        where, args = ("WHERE owner = %s ", (owner, limit)) if owner else ("", (limit,))
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {COLUMNS} FROM mesh_runs {where}ORDER BY created_at DESC, "
                "inserted DESC LIMIT %s",
                args,
            )
            return [run_from_row(r) for r in await cur.fetchall()]

    async def mark_interrupted(self) -> list[str]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE mesh_runs SET status = 'interrupted', finished_at = %s "
                "WHERE status = 'running' RETURNING run_id",
                (time.time(),),
            )
            return [r[0] for r in await cur.fetchall()]


def _due_query(
    before: float, owners: Sequence[str] | None, exclude: Sequence[str]
) -> tuple[str, list[Any]]:
    """Finished, unpinned runs of ``owners`` (not of ``exclude``) finished before ``before``:
    retention's choice (``purge``, ``due``)."""
    sql = (
        "SELECT run_id FROM mesh_runs WHERE status <> ALL(%s) AND finished_at IS NOT NULL "
        "AND finished_at < %s AND run_id NOT IN (SELECT run_id FROM mesh_run_pins)"
    )
    args: list[Any] = [list(IN_PROGRESS), before]
    if owners is not None:
        sql += " AND owner = ANY(%s)"
        args.append(list(owners))
    if exclude:
        sql += " AND (owner IS NULL OR owner <> ALL(%s))"
        args.append(list(exclude))
    return sql, args
