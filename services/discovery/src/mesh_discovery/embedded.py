"""The embedded registry store: SQLite on local disk behind an in-memory index.

Reads (get, list, index, watch) and heartbeats touch only the index (``index.py``). What is
written, and when:

* **registrations, deregistrations, declarations and lapses** commit before they are
  answered or published (one ``BEGIN IMMEDIATE`` ... ``COMMIT`` each, rolled back on any
  error, and the index changes only after the commit): an acknowledged registration
  survives a crash, ``kill -9`` included.
* **heartbeats** change memory only; the renewed leases are written in one transaction per
  ``flush_seconds`` (by the sweeper's tick, and at ``close``). A crash loses the renewals of
  the last flush interval or two: after a restart those leases end that much earlier than
  they should, which a worker heartbeating every third of its TTL never notices. Load
  reports are never written (stale after a restart anyway).
* **the index** is stored as a ceiling: every stored value is at least the index any
  reader was given (a heartbeat that bumps it past the ceiling stores a new one, ``1024``
  higher), and ``close`` stores it exactly. So after a crash the index starts above
  everything a watcher saw, and never goes back.

WAL with ``synchronous=NORMAL``: a commit does not wait for the disk, so a power cut (not
a process crash) can lose the last commits, never corrupt the file.
"""

from __future__ import annotations

import builtins
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mesh_contracts import AgentDescriptor, AgentRecord, HealthStatus, InstanceLoad, Lease
from mesh_discovery.index import Entry, RegistryIndex
from mesh_discovery.registry import (
    SOURCE_API,
    SOURCE_FILE,
    AgentFilter,
    Clock,
    DeclaredInstance,
    StoreCounts,
    UnknownInstance,
    changes_body,
    list_body,
)
from mesh_discovery.watch import IndexWatch

INDEX_BLOCK = 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS agents (
    instance_id TEXT PRIMARY KEY,
    descriptor TEXT NOT NULL,
    status TEXT NOT NULL,
    registered_at REAL NOT NULL,
    last_heartbeat REAL NOT NULL,
    lease_expires_at REAL,
    ttl_seconds REAL,
    source TEXT NOT NULL
);
"""
_UPSERT = """
INSERT INTO agents (instance_id, descriptor, status, registered_at, last_heartbeat,
                    lease_expires_at, ttl_seconds, source)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (instance_id) DO UPDATE SET
    descriptor = excluded.descriptor, status = excluded.status,
    registered_at = excluded.registered_at, last_heartbeat = excluded.last_heartbeat,
    lease_expires_at = excluded.lease_expires_at, ttl_seconds = excluded.ttl_seconds,
    source = excluded.source
"""
_RENEW = (
    "UPDATE agents SET status = ?, last_heartbeat = ?, lease_expires_at = ? WHERE instance_id = ?"
)
_DELETE = "DELETE FROM agents WHERE instance_id = ?"


class EmbeddedStore:
    """SQLite-backed ``Store``. ``open()`` before use, ``close()`` after.

    SQLite calls run on the event loop thread: each is a sub-millisecond local operation,
    cheaper than a hop to a worker thread, and it serialises writes without extra locks.
    """

    name = "embedded"

    def __init__(
        self,
        path: str | Path,
        *,
        reap_after_seconds: float = 300.0,
        clock: Clock = time.time,
        flush_seconds: float = 1.0,
    ) -> None:
        self.path = Path(path)
        self.reap_after_seconds = reap_after_seconds
        self.flush_seconds = flush_seconds
        self._clock = clock
        self._db: sqlite3.Connection | None = None
        self._index_entries = RegistryIndex(reap_after_seconds)
        self._index = 0
        self._ceiling = 0  # the index as stored: never below ``_index``
        self._dirty: set[str] = set()  # renewed in memory, not yet written
        self._flushed_at = time.monotonic()
        self._watch = IndexWatch()
        self.counts = StoreCounts()

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        self._db = db
        row = db.execute("SELECT value FROM meta WHERE key = 'index'").fetchone()
        self._index = self._ceiling = int(row[0]) if row else 0
        self._index_entries = RegistryIndex(self.reap_after_seconds)
        self._dirty.clear()
        for r in db.execute(
            "SELECT descriptor, status, registered_at, last_heartbeat, lease_expires_at,"
            " ttl_seconds, source FROM agents"
        ):
            self._index_entries.put(
                Entry(
                    AgentDescriptor.model_validate_json(r[0]),
                    HealthStatus(r[1]),
                    registered_at=r[2],
                    last_heartbeat=r[3],
                    lease_expires_at=r[4],
                    ttl_seconds=r[5],
                    source=r[6],
                )
            )
        self._index_entries.start_journal(self._index)

    async def close(self) -> None:
        if self._db is not None:
            self.flush()
            with self._tx() as db:
                self._store_index(db, self._index)
            self._db.close()
            self._db = None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        if self._db is None:
            raise RuntimeError("EmbeddedStore is not open")
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _store_index(self, db: sqlite3.Connection, value: int) -> None:
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('index', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (value,),
        )
        self._ceiling = value

    def _write_index(self, db: sqlite3.Connection) -> int:
        """The next index, inside a write's transaction (stored with it, as a ceiling)."""
        new = self._index + 1
        self._store_index(db, new + INDEX_BLOCK)
        return new

    def _publish(self, index: int, changed: Iterable[str]) -> None:
        self._index = index
        self._index_entries.record_change(index, changed)
        self._watch.changed()

    def _bump(self, changed: Iterable[str]) -> None:
        """A change seen only in memory (a revival, a load report): no write unless the
        index passes the stored ceiling."""
        new = self._index + 1
        if new > self._ceiling:
            with self._tx() as db:
                self._store_index(db, new + INDEX_BLOCK)
        self._publish(new, changed)

    @staticmethod
    def _row(e: Entry) -> tuple[object, ...]:
        return (
            e.instance_id,
            e.descriptor.model_dump_json(),
            e.status.value,
            e.registered_at,
            e.last_heartbeat,
            e.lease_expires_at,
            e.ttl_seconds,
            e.source,
        )

    def _lease(self, e: Entry) -> Lease:
        assert e.ttl_seconds is not None and e.lease_expires_at is not None
        return Lease.model_construct(
            instance_id=e.instance_id,
            ttl_seconds=e.ttl_seconds,
            expires_at=e.lease_expires_at,
            index=self._index,
        )

    # -- writes ----------------------------------------------------------------------------

    async def register(self, descriptor: AgentDescriptor, ttl_seconds: float) -> Lease:
        self.counts.registrations += 1
        now = self._clock()
        old = self._index_entries.get(descriptor.instance_id)
        entry = Entry(
            descriptor,
            HealthStatus.PASSING,
            registered_at=old.registered_at if old else now,
            last_heartbeat=now,
            lease_expires_at=now + ttl_seconds,
            ttl_seconds=ttl_seconds,
            source=SOURCE_API,
        )
        # Re-registering the same passing instance unchanged only renews its lease, which a
        # reader cannot see: like a heartbeat, it does not wake the watchers.
        visible = not (
            old is not None
            and old.status is HealthStatus.PASSING
            and old.source == SOURCE_API
            and old.descriptor == descriptor
        )
        if old is not None and not visible:
            entry.set_load(old.load)
        with self._tx() as db:
            db.execute(_UPSERT, self._row(entry))
            index = self._write_index(db) if visible else self._index
        self._dirty.discard(descriptor.instance_id)
        self._index_entries.put(entry)
        if visible:
            self._publish(index, [descriptor.instance_id])
        return self._lease(entry)

    async def declare(self, descriptors: Iterable[AgentDescriptor]) -> None:
        now = self._clock()
        wanted = {d.instance_id: d for d in descriptors}
        upserts: list[Entry] = []
        for d in wanted.values():
            old = self._index_entries.get(d.instance_id)
            if old and old.source == SOURCE_FILE and old.descriptor == d:
                continue
            upserts.append(Entry(d, HealthStatus.PASSING, now, now, None, None, source=SOURCE_FILE))
        removals = [
            e.instance_id
            for e in self._index_entries.entries()
            if e.source == SOURCE_FILE and e.instance_id not in wanted
        ]
        if not upserts and not removals:
            return
        with self._tx() as db:
            db.executemany(_UPSERT, [self._row(e) for e in upserts])
            db.executemany(_DELETE, [(i,) for i in removals])
            index = self._write_index(db)
        for e in upserts:
            self._index_entries.put(e)
        for iid in removals:
            self._index_entries.remove(iid)
        self._publish(index, [e.instance_id for e in upserts] + removals)

    async def heartbeat(self, instance_id: str, load: InstanceLoad | None = None) -> Lease:
        return self._lease(self._renew(instance_id, load))

    async def heartbeat_json(
        self,
        instance_id: str,
        load: InstanceLoad | None = None,
        admit: Callable[[str], object] | None = None,
    ) -> bytes:
        """``heartbeat``, answering the lease's JSON without building the model (the
        heartbeat fast path's answer, ``beats.py``). ``admit(agent_id)`` is called with the
        instance's agent before anything changes, and may raise (the caller's checks:
        ``api.may_write``); an unknown instance raises before it, a declared one after."""
        return self._renew(instance_id, load, admit).lease_json(self._index)

    def _renew(
        self,
        instance_id: str,
        load: InstanceLoad | None,
        admit: Callable[[str], object] | None = None,
    ) -> Entry:
        entry = self._index_entries.get(instance_id)
        if entry is None:
            raise UnknownInstance(instance_id)
        if admit is not None:
            admit(entry.descriptor.agent_id)
        if entry.ttl_seconds is None:
            raise DeclaredInstance(instance_id)
        self.counts.heartbeats += 1
        now = self._clock()
        revived = entry.status is not HealthStatus.PASSING
        # A changed load report is a change watchers see, so routers learn it at heartbeat
        # pace (its timestamp alone is not).
        reloaded = load is not None and _busy(load) != _busy(entry.load)
        entry.renew(now)
        if load is not None:
            entry.set_load(load)
        self._dirty.add(instance_id)
        if revived:
            self._index_entries.schedule(entry)  # its heap item is at the old reap time
        if revived or reloaded:
            self._bump([instance_id])
        return entry

    async def deregister(self, instance_id: str) -> None:
        if instance_id not in self._index_entries:
            raise UnknownInstance(instance_id)
        with self._tx() as db:
            db.execute(_DELETE, (instance_id,))
            index = self._write_index(db)
        self._dirty.discard(instance_id)
        self._index_entries.remove(instance_id)
        self._publish(index, [instance_id])

    def flush(self) -> int:
        """Write the leases renewed since the last flush, in one transaction."""
        self._flushed_at = time.monotonic()
        if not self._dirty:
            return 0
        rows = []
        for iid in self._dirty:
            e = self._index_entries.get(iid)
            if e is not None:
                rows.append((e.status.value, e.last_heartbeat, e.lease_expires_at, iid))
        with self._tx() as db:
            db.executemany(_RENEW, rows)
        self._dirty.clear()
        return len(rows)

    async def sweep(self, now: float | None = None) -> int:
        if self._dirty and time.monotonic() - self._flushed_at >= self.flush_seconds:
            self.flush()
        now = self._clock() if now is None else now
        lapsed: list[Entry] = []
        reaped: list[str] = []
        for e in self._index_entries.due(now):
            assert e.lease_expires_at is not None
            if now - e.lease_expires_at >= self.reap_after_seconds:
                reaped.append(e.instance_id)
            elif e.status is HealthStatus.PASSING:
                lapsed.append(e)
        reaped = list(dict.fromkeys(reaped))
        lapsed = [e for e in dict.fromkeys(lapsed) if e.instance_id not in reaped]
        if not lapsed and not reaped:
            return 0
        with self._tx() as db:
            db.executemany(
                "UPDATE agents SET status = ? WHERE instance_id = ?",
                [(HealthStatus.CRITICAL.value, e.instance_id) for e in lapsed],
            )
            db.executemany(_DELETE, [(i,) for i in reaped])
            index = self._write_index(db)
        for e in lapsed:
            e.lapse()
            self._index_entries.schedule(e)
        for iid in reaped:
            self._dirty.discard(iid)
            self._index_entries.remove(iid)
        self._publish(index, [e.instance_id for e in lapsed] + reaped)
        self.counts.lapses += len(lapsed)
        self.counts.reaps += len(reaped)
        return len(lapsed) + len(reaped)

    # -- reads -----------------------------------------------------------------------------
    # Each read first applies lapses that are due (a heap peek when none is), so what it
    # reports matches the index even between two runs of the background sweeper.

    async def get(self, instance_id: str) -> AgentRecord:
        await self.sweep()
        entry = self._index_entries.get(instance_id)
        if entry is None:
            raise UnknownInstance(instance_id)
        return entry.record()

    async def agent_of(self, instance_id: str) -> str:
        entry = self._index_entries.get(instance_id)
        if entry is None:
            raise UnknownInstance(instance_id)
        return entry.descriptor.agent_id

    async def list(self, filters: AgentFilter | None = None) -> builtins.list[AgentRecord]:
        await self.sweep()
        return [e.record() for e in self._index_entries.select(filters)]

    async def list_json(self, filters: AgentFilter | None = None) -> bytes:
        await self.sweep()
        return list_body(e.json() for e in self._index_entries.select(filters, self._index))

    async def changes_json(self, since: int) -> bytes:
        await self.sweep()
        c = self._index_entries.changes(since, self._index)
        return changes_body(c.index, c.full, (e.json() for e in c.upserts), c.removals)

    async def index(self) -> int:
        await self.sweep()
        return self._index

    async def wait_for_change(self, index: int, timeout: float) -> int:  # noqa: ASYNC109
        await self.sweep()
        return await self._watch.wait(lambda: self._index, index, timeout)


def _busy(load: InstanceLoad | None) -> tuple[int, int] | None:
    """What of a load report changes routing (not its timestamp)."""
    return None if load is None else (load.slots_in_use, load.queue_depth)
