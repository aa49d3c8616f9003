"""Embedded run store on SQLite (aiosqlite), the default: one orchestrator replica.

An admission (``admit``: one insert and its commit, tens of microseconds) and a small
flush (``store_batch`` of at most ``INLINE_ROWS`` runs and ``INLINE_EVENTS`` events, a
few hundred microseconds) run on the event loop's thread, under the store's lock;
everything else runs in aiosqlite's thread. A hand-off to that thread and back cost a run
~0.1 ms of CPU (a queue, a wake-up, the GIL passed twice, the loop woken through its
pipe): more than the statements themselves. The connection makes no checkpoint of its own
when it commits (``wal_autocheckpoint=0``), so the loop never waits on one: every
``CHECKPOINT_EVERY`` commits ``store_batch`` starts one on a connection of its own, in a
thread, outside the store's lock (a PASSIVE checkpoint lets writers go on; it syncs the
files, tens of milliseconds on a busy disk, which admissions waited out under the lock:
bench/README.md, "Round 10: the first token"). Such a checkpoint leaves the WAL to grow
while writes go on beside it (SQLite starts the file over only after a checkpoint that
caught up with every write), so every ``LOCKED_EVERY``-th is made as before: under the
lock, in aiosqlite's thread, with that flush, and the WAL stays bounded. A large flush goes
to aiosqlite's thread too.

Leases work here as on Postgres (one code path), but one process holds the file: a
restarted orchestrator with the same ``ORCH_REPLICA_ID`` claims its previous incarnation's
runs at once, without waiting for their leases to lapse.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import aiosqlite

from mesh_contracts import StreamEvent
from mesh_orchestrator.runs.store.base import (
    IN_PROGRESS,
    NO_LIMIT,
    Fenced,
    RunRecord,
    StoredEvent,
)
from mesh_orchestrator.runs.store.deliveries import SQLITE_ENQUEUE, Delivery, delivery_row
from mesh_orchestrator.runs.store.event_rows import (
    count_events,
    event_rows,
    events_from_rows,
    page_query,
)
from mesh_orchestrator.runs.store.rows import (
    ADDED_COLUMNS,
    COLUMNS,
    UPDATED,
    run_from_row,
    run_row,
    token_wait,
)

# A bound parameter that is not exactly an int, float, str or bytearray is "adapted" by
# Python 3.11's sqlite3 (``need_adapt``): a look-up of the adapters, then of
# ``PrepareProtocol.__adapt__`` on the type, which fails with a formatted AttributeError
# made and cleared, then of the value's ``__conform__``; ~2,000-3,400 instructions a
# parameter (callgrind), for every None and every ``bytes`` (an event's JSON, a run's
# columns): ~17 a relayed stream (bench/README.md, "Round 16: lean-first16"). An adapter registered for
# the exact type is found at the first look-up; these two give back the value itself (a
# C call each: ``{}.get(None)`` is None, ``bytes(b)`` is ``b``), so the same values are
# bound. Process-wide (``sqlite3``'s adapters are global) and harmless to any other
# connection for that reason: identity on the two types.
sqlite3.register_adapter(type(None), {}.get)  # type: ignore[arg-type]  # get(None): None
sqlite3.register_adapter(bytes, bytes)

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, query TEXT NOT NULL, status TEXT NOT NULL,
    created_at REAL NOT NULL, finished_at REAL, plan TEXT, answer TEXT,
    last_seq INTEGER NOT NULL DEFAULT 0, options TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at DESC);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, task_id TEXT,
    agent_id TEXT, data TEXT NOT NULL, ts REAL NOT NULL, PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS rate_buckets (
    key TEXT PRIMARY KEY, tokens REAL NOT NULL, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS run_pauses (
    run_id TEXT PRIMARY KEY, cancel_running INTEGER NOT NULL, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS run_pins (run_id TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS singletons (
    name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at REAL NOT NULL
);
"""
# The runs by owner and status (an owner's runs in progress, counted at its admissions; its
# runs listed), of the runs that have an owner only: a run of an open mesh (no owner) puts
# no entry in it, so its admission and each change of its status write one b-tree page
# less (one WAL frame, two ``pwrite``s: bench/README.md, "Round 12: CPU per run"). Every
# query of it names an owner (``owner = ?``, ``owner IN (...)``), which SQLite's planner
# knows implies ``owner IS NOT NULL``. (Postgres keeps the whole index: ``rows.INDEXES``.)
OWNER_INDEX = (
    "CREATE INDEX IF NOT EXISTS runs_owner ON runs (owner, status) WHERE owner IS NOT NULL"
)
log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
T = TypeVar("T")


def _one_at_a_time(method: F) -> F:
    """One statement sequence on the connection at a time: aiosqlite runs each call in its
    thread, but coroutines interleave between calls, and SQLite refuses a commit while
    another coroutine's statement (a cursor not yet read to its end) is in progress."""

    @functools.wraps(method)
    async def serialized(self: SQLiteRunStore, *args: Any, **kwargs: Any) -> Any:
        async with self._lock:
            return await method(self, *args, **kwargs)

    return cast(F, serialized)


# Take one token from a bucket (refilled since ``at``, at most ``burst``), or nothing: the
# conditional upsert is one statement, so concurrent takers never both get the last token.
TAKE_TOKEN = """
INSERT INTO rate_buckets (key, tokens, at) VALUES (:key, :burst - 1, :now)
ON CONFLICT (key) DO UPDATE SET
    tokens = min(:burst, rate_buckets.tokens + max(0, :now - rate_buckets.at) * :rate) - 1,
    at = :now
WHERE min(:burst, rate_buckets.tokens + max(0, :now - rate_buckets.at) * :rate) >= 1
"""


_N = len(COLUMNS.split(", "))
# A run's row, inserted, or updated while the stored epoch is the writer's (no row changes
# otherwise: the writer is fenced).
SAVE_RUN = (
    f"INSERT INTO runs ({COLUMNS}) VALUES ({','.join('?' * _N)}) ON CONFLICT (run_id) DO UPDATE "
    f"SET {', '.join(f'{c} = excluded.{c}' for c in UPDATED.split(', '))} "
    "WHERE runs.epoch = excluded.epoch"
)
INSERT_EVENTS = "INSERT OR IGNORE INTO events VALUES (?,?,?,?,?,?,?)"
INSERT_RUN = f"INSERT INTO runs ({COLUMNS}) VALUES ({','.join('?' * _N)})"
# A run's row, inserted while its owner has fewer than the limit in progress.
ADMIT = (
    f"INSERT INTO runs ({COLUMNS}) SELECT {','.join('?' * _N)} WHERE (SELECT count(*) "
    f"FROM runs WHERE owner = ? AND status IN ({','.join('?' * len(IN_PROGRESS))})) < ?"
)
RENEW_CHUNK = 4000  # leases renewed by one statement
# Commits of admissions and flushes between two checkpoints (in the connection's thread):
# SQLite's own default, 1,000 pages of WAL, is a few hundred of them.
CHECKPOINT_EVERY = 256
# Of those checkpoints, every this many is made under the store's lock (the WAL's bound).
LOCKED_EVERY = 4
# A flush of at most this many runs' rows and events runs on the loop's thread (no
# hand-off; its statements take less than the hand-off would); a larger one in the thread.
INLINE_ROWS = 64
INLINE_EVENTS = 512
# An admission that joins those left open (``SQLiteRunStore._admit_joined``).
_SAVEPOINT = "SAVEPOINT admission"
_ROLLBACK_TO = "ROLLBACK TO admission"
_RELEASE = "RELEASE admission"
# A flush that joins the admissions left open (``SQLiteRunStore._flush_joined``).
_FLUSH_SAVEPOINT = "SAVEPOINT flush"
_FLUSH_ROLLBACK_TO = "ROLLBACK TO flush"
_FLUSH_RELEASE = "RELEASE flush"


def _store_batch(
    conn: sqlite3.Connection,
    ids: list[tuple[str, int]],
    rows: list[tuple[Any, ...]],
    events: list[StoredEvent],
    epochs: Mapping[str, int],
    deliveries: Mapping[str, list[tuple[Any, ...]]],
) -> set[str]:
    """``store_batch``'s statements, in the connection's thread (one hand-off for the
    whole flush, its commit included): the rows in one ``executemany``, the events in
    one; which were refused is only looked up when fewer rows changed than were sent."""
    fenced: set[str] = set()
    saved: set[str] = set()
    if rows:
        cur = conn.executemany(SAVE_RUN, rows)
        saved = {run_id for run_id, _ in ids}
        if cur.rowcount != len(rows):  # some were refused (fenced): which
            fenced = _stale(conn, saved, dict(ids))
            saved -= fenced
        enqueue = [d for r in saved for d in deliveries.get(r, ())]
        if enqueue:
            conn.executemany(SQLITE_ENQUEUE, enqueue)
    # A run whose row was saved here has the writer's epoch; only the others are read.
    check = {e.run_id for e in events if e.run_id in epochs} - saved - fenced
    if check:
        fenced |= _stale(conn, check, epochs)
    kept = [e for e in events if e.run_id not in fenced] if fenced else events
    if kept:
        conn.executemany(INSERT_EVENTS, event_rows(kept))
    return fenced


def _stale(conn: sqlite3.Connection, run_ids: set[str], epochs: Mapping[str, int]) -> set[str]:
    """Those of ``run_ids`` stored with an epoch other than ``epochs``' (in the thread)."""
    ids = sorted(r for r in run_ids if r in epochs)
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    stored = conn.execute(f"SELECT run_id, epoch FROM runs WHERE run_id IN ({marks})", ids)
    return {r[0] for r in stored.fetchall() if r[1] != epochs[r[0]]}


def _checkpoint(conn: sqlite3.Connection) -> None:
    """A PASSIVE checkpoint of the WAL on ``conn`` (in a thread). One that fails leaves the
    WAL to the next: nothing is lost, the WAL holds it."""
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except sqlite3.Error as exc:
        log.warning("a checkpoint of the run store's WAL failed: %s", exc)


class AdmissionLost(Exception):
    """A run's admission was left open (``admit``'s ``commit=False``) and its commit failed:
    the run is not stored, its id must not be handed out."""


class _Lock(asyncio.Lock):
    """The store's lock. Whoever takes it first commits the admissions left open
    (``SQLiteRunStore.commit_admitted``): nothing else runs in their transaction, and a
    rollback of another sequence never takes an admission with it."""

    def __init__(self, store: SQLiteRunStore) -> None:
        super().__init__()
        self._store = store

    async def acquire(self) -> Literal[True]:
        await super().acquire()
        if self._store._open:
            try:
                self._store.commit_admitted()
            except BaseException:
                self.release()
                raise
        return True


class SQLiteRunStore:
    """One aiosqlite connection (its own thread) in WAL mode."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None
        self._lock = _Lock(self)
        # Runs inserted by ``admit(commit=False)`` whose commit is still to come (their
        # transaction is open on the connection), and those whose commit failed (rolled
        # back: not stored), until ``commit_admitted`` names them.
        self._open: list[str] = []
        self._lost: set[str] = set()
        self._commits = 0  # admissions and flushes since the last checkpoint
        self._checkpoints = 0  # checkpoints since the last one under the lock
        # Flushes that committed the admissions left open with their own rows and events, in
        # one commit (``_flush_joined``): each a commit fewer.
        self.joined_commits = 0
        # The WAL's checkpoints: a connection of their own, used in one thread at a time.
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpointing: asyncio.Task[None] | None = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("SQLiteRunStore is not open")
        return self._db

    @property
    def lock(self) -> asyncio.Lock:
        """Held around each statement sequence on ``db`` (the thread and outbox tables
        share the connection: ``runs.store.threads``, ``runs.store.outbox``)."""
        return self._lock

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # ``admit`` uses the connection on the loop's thread too, always under ``lock``.
        self._db = await aiosqlite.connect(self.path, check_same_thread=False)
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.execute("PRAGMA synchronous=NORMAL")
        await self._db.execute("PRAGMA wal_autocheckpoint=0")  # store_batch checkpoints
        await self._db.executescript(SCHEMA)
        async with self._db.execute("PRAGMA table_info(runs)") as cur:
            have = {r[1] for r in await cur.fetchall()}
        for name, kind in ADDED_COLUMNS:
            if name not in have:
                await self._db.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
        await self._db.commit()
        await self._owner_index()
        self._checkpointer = sqlite3.connect(self.path, check_same_thread=False)

    async def _owner_index(self) -> None:
        """The runs' ``runs_owner`` index, partial (``OWNER_INDEX``): a database made with
        the whole one (every version before round 12) has it made again so, in place, in
        one transaction (a crash leaves the one or the other, both right: the index only
        speeds up reads), once (76 ms for 100,000 runs under load)."""
        async with self.db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'runs_owner'"
        ) as cur:
            row = await cur.fetchone()
        if row is not None and row[0] is not None and " WHERE " in row[0].upper():
            return
        await self.db.executescript(
            f"BEGIN; DROP INDEX IF EXISTS runs_owner; {OWNER_INDEX}; COMMIT;"
        )

    async def in_thread(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` in aiosqlite's thread, as one call: every aiosqlite call is a
        hand-off to that thread and back (a queue, a wake-up, the GIL passed twice), so a
        statement sequence on the hot path (a flush) runs there whole, its commit or
        rollback included. Hold ``lock`` around it, as around any sequence. It uses
        aiosqlite's ``_execute`` (what its own ``execute`` and ``commit`` call) and the
        ``sqlite3`` connection it drives, which that thread touches, and ``admit`` on the
        loop's thread, one at a time under ``lock``."""
        db = self.db
        return cast(T, await db._execute(fn, db._conn))  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        if self._open and self._db is not None:
            with contextlib.suppress(AdmissionLost):
                self.commit_admitted()
        if self._checkpointing is not None:
            await self._checkpointing
            self._checkpointing = None
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        if self._db is not None:
            await self._db.close()
            self._db = None

    def _checkpoint_soon(self) -> None:
        """Start a checkpoint of the WAL (PASSIVE: what no reader holds back, without
        waiting) unless one is under way."""
        if self._checkpointer is None or (
            self._checkpointing is not None and not self._checkpointing.done()
        ):
            return
        self._checkpointing = asyncio.get_running_loop().create_task(
            asyncio.to_thread(_checkpoint, self._checkpointer), name="sqlite-checkpoint"
        )

    @_one_at_a_time
    async def save_run(self, run: RunRecord, outbox: Sequence[Delivery] = ()) -> None:
        try:
            cur = await self.db.execute(SAVE_RUN, run_row(run))
            changed = cur.rowcount
            if changed:  # the state and its webhook deliveries: one transaction
                for d in outbox:
                    await self.db.execute(SQLITE_ENQUEUE, delivery_row(d))
            await self.db.commit()
        except BaseException:
            await self.db.rollback()
            raise
        if changed == 0:
            raise Fenced([run.run_id])

    @_one_at_a_time
    async def append_events(
        self, events: Sequence[StoredEvent], epochs: Mapping[str, int] | None = None
    ) -> set[str]:
        if not events:
            return set()
        stored, known = list(events), dict(epochs or {})

        def append(conn: sqlite3.Connection) -> set[str]:
            fenced = _stale(conn, {e.run_id for e in stored}, known) if known else set()
            kept = [e for e in stored if e.run_id not in fenced] if fenced else stored
            try:
                conn.executemany(INSERT_EVENTS, event_rows(kept))
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            return fenced

        return await self.in_thread(append)

    async def store_batch(
        self,
        runs: Sequence[RunRecord],
        events: Sequence[StoredEvent],
        epochs: Mapping[str, int],
        outbox: Mapping[str, Sequence[Delivery]] | None = None,
    ) -> set[str]:
        # The rows now, before the first await (the records go on changing meanwhile).
        rows = [run_row(r) for r in runs]
        if not rows and not events:
            return set()
        ids = [(r.run_id, r.epoch) for r in runs]
        found = outbox or {}
        deliveries = {r: [delivery_row(d) for d in found.get(r, ())] for r, _ in ids}
        stored, event_epochs = list(events), dict(epochs)

        def batch(conn: sqlite3.Connection, checkpoint: bool = False) -> set[str]:
            try:
                fenced = _store_batch(conn, ids, rows, stored, event_epochs, deliveries)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            if checkpoint:
                _checkpoint(conn)
            return fenced

        def joined(conn: sqlite3.Connection) -> set[str]:
            """``batch`` in the transaction of the admissions left open, one commit for
            both (see ``_flush_joined``)."""
            return self._flush_joined(
                conn, lambda: _store_batch(conn, ids, rows, stored, event_epochs, deliveries)
            )

        aside = False
        # The store's lock without its ``acquire``'s commit of the admissions left open:
        # an inline flush joins their transaction (``_flush_joined``); every other path
        # commits them first, as ``acquire`` does.
        await asyncio.Lock.acquire(self._lock)
        try:
            self._commits += 1
            inline = len(rows) <= INLINE_ROWS and len(stored) <= INLINE_EVENTS
            if self._commits >= CHECKPOINT_EVERY:
                self._commits = 0
                self._checkpoints = (self._checkpoints + 1) % LOCKED_EVERY
                if self._checkpoints == 0:  # under the lock, with this flush
                    self.commit_admitted()
                    if self._checkpointing is not None:  # one checkpointer at a time
                        await self._checkpointing
                    return await self.in_thread(functools.partial(batch, checkpoint=True))
                aside = True
            if inline and self._open:
                fenced = joined(self.db._conn)
            elif inline:
                # Here, on the loop's thread, as ``admit`` does (under the lock nothing
                # else uses the connection): one transaction, committed before it returns.
                fenced = batch(self.db._conn)
            else:
                self.commit_admitted()
                fenced = await self.in_thread(batch)
        finally:
            self._lock.release()
        if aside:
            self._checkpoint_soon()
        return fenced

    def _flush_joined(
        self, conn: sqlite3.Connection, statements: Callable[[], set[str]]
    ) -> set[str]:
        """A flush's ``statements`` (on the loop's thread, under the store's lock) in the
        transaction the admissions left open (``admit(commit=False)``) hold, in a savepoint,
        and one commit for both: where the lock's ``acquire`` committed them, then the flush
        committed its own (two commits, ~41 us each, at ~0.56 of a pinned run's flushes at
        16 in flight). Nothing is stored later than it was: the admissions are committed in
        the same synchronous sequence, before this returns (their ids are not out yet: a
        stream commits its own before its first write). A failure of the statements rolls
        back the savepoint alone, the admissions are committed as ``acquire`` would have
        (``commit_admitted``) and the failure raised, as before; a failed commit loses both,
        the admissions as ``commit_admitted``'s does (``AdmissionLost``, their runs stopped
        when their streams ask) and the flush as a failed flush's (the multiplexer keeps its
        rows and events and flushes them again)."""
        pending, self._open = self._open, []
        conn.execute(_FLUSH_SAVEPOINT)
        try:
            fenced = statements()
        except BaseException:
            conn.execute(_FLUSH_ROLLBACK_TO)
            conn.execute(_FLUSH_RELEASE)
            self._open = pending + self._open
            self.commit_admitted()
            raise
        conn.execute(_FLUSH_RELEASE)
        try:
            conn.commit()
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.rollback()
            log.error("the admission of %d run(s) was not committed: %s", len(pending), exc)
            self._lost.update(pending)
            raise AdmissionLost(", ".join(pending)) from exc
        self._commits += 1  # the admissions' commit, counted as before (checkpoints' pace)
        self.joined_commits += 1
        return fenced

    @_one_at_a_time
    async def claim(self, run_id: str, owner: str, lease_seconds: float) -> RunRecord | None:
        now = time.time()
        async with self.db.execute(
            "UPDATE runs SET lease_owner = ?, epoch = epoch + 1, lease_expires_at = ? "
            "WHERE run_id = ? AND status = 'running' AND (lease_expires_at IS NULL "
            f"OR lease_expires_at < ? OR lease_owner = ?) RETURNING {COLUMNS}",
            (owner, now + lease_seconds, run_id, now, owner),
        ) as cur:
            row = await cur.fetchone()
        await self.db.commit()
        return None if row is None else run_from_row(row)

    @_one_at_a_time
    async def claim_waiting(
        self, run_id: str, owner: str, lease_seconds: float
    ) -> RunRecord | None:
        async with self.db.execute(
            "UPDATE runs SET status = 'running', finished_at = NULL, lease_owner = ?, "
            "epoch = epoch + 1, lease_expires_at = ?, cancel_requested = 0 "
            f"WHERE run_id = ? AND status = 'awaiting_approval' RETURNING {COLUMNS}",
            (owner, time.time() + lease_seconds, run_id),
        ) as cur:
            row = await cur.fetchone()
        await self.db.commit()
        return None if row is None else run_from_row(row)

    @_one_at_a_time
    async def renew(
        self, epochs: Mapping[str, int], owner: str, lease_seconds: float
    ) -> tuple[set[str], set[str]]:
        if not epochs:
            return set(), set()
        until = time.time() + lease_seconds
        # The leases in one statement (one call to the connection's thread, not one a run),
        # a few thousand at a time (SQLite's bound on a statement's parameters).
        items = list(epochs.items())
        rows: list[Any] = []
        for at in range(0, len(items), RENEW_CHUNK):
            chunk = items[at : at + RENEW_CHUNK]
            rows += await self.db.execute_fetchall(
                "UPDATE runs SET lease_expires_at = ? WHERE lease_owner = ? AND (run_id, epoch) "
                f"IN (VALUES {','.join(['(?,?)'] * len(chunk))}) RETURNING run_id, cancel_requested",
                (until, owner, *(v for item in chunk for v in item)),
            )
        await self.db.commit()
        kept = {r[0] for r in rows}
        return set(epochs) - kept, {r[0] for r in rows if r[1]}

    @_one_at_a_time
    async def release(self, run_id: str, epoch: int) -> None:
        await self.db.execute(
            "UPDATE runs SET lease_expires_at = 0 WHERE run_id = ? AND epoch = ?", (run_id, epoch)
        )
        await self.db.commit()

    @_one_at_a_time
    async def orphans(self, owner: str, limit: int = 100) -> list[str]:
        async with self.db.execute(
            "SELECT run_id FROM runs WHERE status = 'running' AND (lease_expires_at IS NULL "
            "OR lease_expires_at < ? OR lease_owner = ?) ORDER BY created_at LIMIT ?",
            (time.time(), owner, limit),
        ) as cur:
            return [r[0] for r in await cur.fetchall()]

    @_one_at_a_time
    async def request_cancel(self, run_id: str) -> bool:
        cur = await self.db.execute(
            "UPDATE runs SET cancel_requested = 1 WHERE run_id = ? AND status = 'running'",
            (run_id,),
        )
        changed = cur.rowcount
        await self.db.commit()
        return changed > 0

    @_one_at_a_time
    async def claim_parked(
        self, run_id: str, status: str, owner: str, lease_seconds: float
    ) -> RunRecord | None:
        async with self.db.execute(
            "UPDATE runs SET status = 'running', finished_at = NULL, lease_owner = ?, "
            "epoch = epoch + 1, lease_expires_at = ?, cancel_requested = 0 "
            f"WHERE run_id = ? AND status = ? RETURNING {COLUMNS}",
            (owner, time.time() + lease_seconds, run_id, status),
        ) as cur:
            row = await cur.fetchone()
        await self.db.execute("DELETE FROM run_pauses WHERE run_id = ?", (run_id,))
        await self.db.commit()
        return None if row is None else run_from_row(row)

    @_one_at_a_time
    async def request_pause(self, run_id: str, cancel_running: bool) -> bool:
        cur = await self.db.execute(
            "INSERT INTO run_pauses (run_id, cancel_running, at) SELECT ?, ?, ? "
            "WHERE EXISTS (SELECT 1 FROM runs WHERE run_id = ? AND status = 'running') "
            "ON CONFLICT (run_id) DO UPDATE SET cancel_running = excluded.cancel_running",
            (run_id, int(cancel_running), time.time(), run_id),
        )
        changed = cur.rowcount
        await self.db.commit()
        return changed > 0

    @_one_at_a_time
    async def pause_requests(self, run_ids: Sequence[str]) -> dict[str, bool]:
        if not run_ids:
            return {}
        marks = ",".join("?" * len(run_ids))
        async with self.db.execute(
            f"SELECT run_id, cancel_running FROM run_pauses WHERE run_id IN ({marks})",
            tuple(run_ids),
        ) as cur:
            return {r[0]: bool(r[1]) for r in await cur.fetchall()}

    @_one_at_a_time
    async def clear_pause(self, run_id: str) -> None:
        await self.db.execute("DELETE FROM run_pauses WHERE run_id = ?", (run_id,))
        await self.db.commit()

    @_one_at_a_time
    async def pin(self, run_id: str, pinned: bool) -> bool:
        async with self.db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)) as cur:
            if await cur.fetchone() is None:
                return False
        if pinned:
            await self.db.execute(
                "INSERT OR IGNORE INTO run_pins (run_id, at) VALUES (?, ?)", (run_id, time.time())
            )
        else:
            await self.db.execute("DELETE FROM run_pins WHERE run_id = ?", (run_id,))
        await self.db.commit()
        return True

    @_one_at_a_time
    async def pinned(self, run_id: str) -> bool:
        async with self.db.execute("SELECT 1 FROM run_pins WHERE run_id = ?", (run_id,)) as cur:
            return await cur.fetchone() is not None

    @_one_at_a_time
    async def take_singleton(self, name: str, owner: str, seconds: float) -> bool:
        now = time.time()
        cur = await self.db.execute(
            "INSERT INTO singletons (name, owner, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
            "expires_at = excluded.expires_at "
            "WHERE singletons.owner = excluded.owner OR singletons.expires_at < ?",
            (name, owner, now + seconds, now),
        )
        taken = cur.rowcount > 0
        await self.db.commit()
        return taken

    @_one_at_a_time
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
        sql, args = self._due_query(before, owners, exclude)
        if only is not None:
            sql += f" AND run_id IN ({','.join('?' * len(only))})"
            args += list(only)
        async with self.db.execute(sql + " ORDER BY finished_at LIMIT ?", (*args, limit)) as cur:
            ids = [r[0] for r in await cur.fetchall()]
        if not ids:
            return 0, 0
        marks = ",".join("?" * len(ids))
        counted = count_events("json_array_length(data)")
        async with self.db.execute(
            f"SELECT {counted} FROM events WHERE run_id IN ({marks})", ids
        ) as cur:
            row = await cur.fetchone()
        events = int(row[0]) if row is not None else 0
        await self.db.execute(f"DELETE FROM events WHERE run_id IN ({marks})", ids)
        await self.db.execute(f"DELETE FROM run_pauses WHERE run_id IN ({marks})", ids)
        cur = await self.db.execute(f"DELETE FROM runs WHERE run_id IN ({marks})", ids)
        runs = cur.rowcount
        await self.db.commit()
        return runs, events

    @_one_at_a_time
    async def due(
        self,
        before: float,
        owners: Sequence[str] | None,
        exclude: Sequence[str],
        limit: int,
        skip: Sequence[str] = (),
    ) -> list[tuple[str, float]]:
        sql, args = self._due_query(before, owners, exclude)
        sql = sql.replace("SELECT run_id", "SELECT run_id, finished_at", 1)
        if skip:
            sql += f" AND run_id NOT IN ({','.join('?' * len(skip))})"
            args += list(skip)
        async with self.db.execute(sql + " ORDER BY finished_at LIMIT ?", (*args, limit)) as cur:
            return [(r[0], float(r[1])) for r in await cur.fetchall()]

    @staticmethod
    def _due_query(
        before: float, owners: Sequence[str] | None, exclude: Sequence[str]
    ) -> tuple[str, list[Any]]:
        """Finished, unpinned runs of ``owners`` (not of ``exclude``) finished before
        ``before``: retention's choice (``purge``, ``due``)."""
        done = ",".join("?" * len(IN_PROGRESS))
        sql = (
            f"SELECT run_id FROM runs WHERE status NOT IN ({done}) AND finished_at IS NOT NULL "
            "AND finished_at < ? AND run_id NOT IN (SELECT run_id FROM run_pins)"
        )
        args: list[Any] = [*IN_PROGRESS, before]
        if owners is not None:
            sql += f" AND owner IN ({','.join('?' * len(owners))})"
            args += list(owners)
        if exclude:
            sql += f" AND (owner IS NULL OR owner NOT IN ({','.join('?' * len(exclude))}))"
            args += list(exclude)
        return sql, args

    @_one_at_a_time
    async def events_after(
        self, run_id: str, after: int = 0, limit: int | None = None, max_bytes: int | None = None
    ) -> list[StreamEvent]:
        sql, args = page_query("events", "?", run_id, after, limit, max_bytes)
        async with self.db.execute(sql, args) as cur:
            return events_from_rows(await cur.fetchall(), after, limit, max_bytes)

    async def admit(self, run: RunRecord, limit: int, *, commit: bool = True) -> bool:
        # ``commit=False``: the insert here, its commit left to ``commit_admitted`` (the
        # caller's, before the run's id is handed out; or whoever takes the store's lock
        # first, or the next admission): a run's stream commits it after its worker request
        # is out (``api.routes.open_run_stream``). Not stored until then: a crash in between
        # leaves no row, and no id was handed out.
        # The store's lock as ``_one_at_a_time`` takes it, taken only when another holds
        # it: the admission itself never awaits (it runs here, on the loop's thread, to its
        # commit), so with the lock free nothing can come between its statements, and an
        # uncontended ``async with`` (the lock's acquire and release, a coroutine frame) is
        # left out of every run.
        if not self._lock.locked():
            return self._admit(run, limit, commit)
        async with self._lock:
            return self._admit(run, limit, commit)

    def commit_admitted(self, run_id: str | None = None) -> None:
        """Commit the admissions ``admit(commit=False)`` left open (on the loop's thread,
        where they were made; never while another holds the store's lock, whose ``acquire``
        commits them first). Raises ``AdmissionLost`` when ``run_id``'s commit failed (rolled
        back: the run is not stored), now or at an earlier call, or when this commit fails."""
        if self._open:
            pending, self._open = self._open, []
            conn = self.db._conn
            try:
                conn.commit()
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    conn.rollback()
                log.error("the admission of %d run(s) was not committed: %s", len(pending), exc)
                self._lost.update(pending)
                if run_id is None or run_id in pending:
                    self._lost.discard(run_id or "")
                    raise AdmissionLost(run_id or ", ".join(pending)) from exc
            self._commits += 1
        if run_id is not None and run_id in self._lost:
            self._lost.discard(run_id)
            raise AdmissionLost(run_id)

    def _admit(self, run: RunRecord, limit: int, commit: bool = True) -> bool:
        # One connection, one statement at a time: the count and the insert cannot
        # interleave with another admission. The insert and its commit run here, on the
        # loop's thread (the module's docstring says why), committed before the ``run``
        # event. Under the lock nothing else uses the connection; no checkpoint runs at
        # this commit. Another connection to the file writing (the workflow store's, in
        # its thread, a few statements) holds it up for as long as that takes.
        # ``NO_LIMIT``: nothing to count, the row is inserted (a quarter less CPU than the
        # statement that counts; a duplicate id raises, as it does there).
        # Admissions left open before this one: this one joins their transaction, in a
        # savepoint of its own (a failure here rolls back this one alone), and one commit
        # stores them all, whoever makes it (the first of their streams to reach its first
        # byte, the lock's next taker, a committed admission). Streams that start in the
        # same turns of the loop (20 concurrent) share a commit, where each made its own.
        conn = self.db._conn
        if self._open:
            return self._admit_joined(conn, run, limit, commit)
        try:
            if limit >= NO_LIMIT:
                admitted = conn.execute(INSERT_RUN, run_row(run))
            else:
                admitted = conn.execute(ADMIT, (*run_row(run), run.owner, *IN_PROGRESS, limit))
            if admitted.rowcount != 1:
                conn.commit()  # nothing inserted: nothing left open
                self._commits += 1
                return False
            if not commit:
                self._open.append(run.run_id)
                return True
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        self._commits += 1
        return True

    def _admit_joined(
        self, conn: sqlite3.Connection, run: RunRecord, limit: int, commit: bool
    ) -> bool:
        """``_admit`` while admissions are left open: in their transaction, in a savepoint
        (released: its insert is the transaction's, committed with the others)."""
        conn.execute(_SAVEPOINT)
        try:
            if limit >= NO_LIMIT:
                admitted = conn.execute(INSERT_RUN, run_row(run))
            else:
                admitted = conn.execute(ADMIT, (*run_row(run), run.owner, *IN_PROGRESS, limit))
        except BaseException:
            conn.execute(_ROLLBACK_TO)  # this insert alone; the open ones stay
            conn.execute(_RELEASE)
            raise
        conn.execute(_RELEASE)
        if admitted.rowcount != 1:
            return False  # nothing inserted: the open admissions stay open
        self._open.append(run.run_id)
        if commit:
            self.commit_admitted(run.run_id)
        return True

    @_one_at_a_time
    async def runs_in_progress(self, owner: str) -> int:
        marks = ",".join("?" * len(IN_PROGRESS))
        async with self.db.execute(
            f"SELECT count(*) FROM runs WHERE owner = ? AND status IN ({marks})",
            (owner, *IN_PROGRESS),
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    @_one_at_a_time
    async def take_token(self, key: str, rate: float, burst: int) -> float:
        now = time.time()
        args = {"key": key, "now": now, "rate": rate, "burst": burst}
        cur = await self.db.execute(TAKE_TOKEN, args)
        taken = cur.rowcount == 1
        await self.db.commit()
        if taken:
            return 0.0
        async with self.db.execute(
            "SELECT tokens, at FROM rate_buckets WHERE key = ?", (key,)
        ) as cur:
            row = await cur.fetchone()
        return token_wait(row, now, rate, burst)

    @_one_at_a_time
    async def get_run(self, run_id: str) -> RunRecord | None:
        async with self.db.execute(
            f"SELECT {COLUMNS} FROM runs WHERE run_id = ?", (run_id,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else run_from_row(row)

    @_one_at_a_time
    async def list_runs(self, limit: int = 20, owner: str | None = None) -> list[RunRecord]:
        where, args = ("WHERE owner = ? ", (owner, limit)) if owner else ("", (limit,))
        async with self.db.execute(
            f"SELECT {COLUMNS} FROM runs {where}ORDER BY created_at DESC, rowid DESC LIMIT ?",
            args,
        ) as cur:
            return [run_from_row(r) for r in await cur.fetchall()]

    @_one_at_a_time
    async def mark_interrupted(self) -> list[str]:
        async with self.db.execute("SELECT run_id FROM runs WHERE status = 'running'") as cur:
            ids = [r[0] for r in await cur.fetchall()]
        await self.db.execute(
            "UPDATE runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'",
            (time.time(),),
        )
        await self.db.commit()
        return ids
