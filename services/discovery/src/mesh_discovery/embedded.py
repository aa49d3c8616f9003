"""The embedded registry store: SQLite on local disk, mirrored in memory for cheap reads.

Every write runs in one SQLite transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on
any error) and the in-memory mirror is updated only after the commit succeeds, so a failed
write leaves both untouched. Registrations and the index survive restarts. Reads (list, get,
index) never touch the disk. WAL with ``synchronous=NORMAL`` keeps a heartbeat's commit cheap:
a crash can lose the last few commits but never corrupts the file.
"""

from __future__ import annotations

import builtins
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mesh_contracts import AgentDescriptor, AgentRecord, HealthStatus, InstanceLoad, Lease
from mesh_discovery.registry import (
    SOURCE_API,
    SOURCE_FILE,
    AgentFilter,
    Clock,
    DeclaredInstance,
    StoreCounts,
    UnknownInstance,
    select,
)
from mesh_discovery.watch import IndexWatch

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


@dataclass(slots=True)
class _Entry:
    record: AgentRecord
    ttl_seconds: float | None  # None: declared in the agents file


class EmbeddedStore:
    """SQLite-backed ``Store``. ``open()`` before use, ``close()`` after.

    SQLite calls run on the event loop thread: each is a sub-millisecond local operation,
    cheaper than a hop to a worker thread, and it serialises writes without extra locks.
    """

    name = "embedded"

    def __init__(
        self, path: str | Path, *, reap_after_seconds: float = 300.0, clock: Clock = time.time
    ) -> None:
        self.path = Path(path)
        self.reap_after_seconds = reap_after_seconds
        self._clock = clock
        self._db: sqlite3.Connection | None = None
        self._entries: dict[str, _Entry] = {}
        self._index = 0
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
        self._index = int(row[0]) if row else 0
        self._entries = {}
        for r in db.execute(
            "SELECT descriptor, status, registered_at, last_heartbeat, lease_expires_at,"
            " ttl_seconds, source FROM agents"
        ):
            descriptor = AgentDescriptor.model_validate_json(r[0])
            record = AgentRecord(
                descriptor=descriptor,
                status=HealthStatus(r[1]),
                registered_at=r[2],
                last_heartbeat=r[3],
                lease_expires_at=r[4],
                source=r[6],
            )
            self._entries[descriptor.instance_id] = _Entry(record, r[5])

    async def close(self) -> None:
        if self._db is not None:
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

    def _write_index(self, db: sqlite3.Connection) -> int:
        new = self._index + 1
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('index', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (new,),
        )
        return new

    def _publish(self, index: int) -> None:
        self._index = index
        self._watch.changed()

    @staticmethod
    def _row(entry: _Entry) -> tuple[object, ...]:
        r = entry.record
        return (
            r.descriptor.instance_id,
            r.descriptor.model_dump_json(),
            r.status.value,
            r.registered_at,
            r.last_heartbeat,
            r.lease_expires_at,
            entry.ttl_seconds,
            r.source,
        )

    def _lease(self, entry: _Entry) -> Lease:
        assert entry.ttl_seconds is not None and entry.record.lease_expires_at is not None
        return Lease(
            instance_id=entry.record.descriptor.instance_id,
            ttl_seconds=entry.ttl_seconds,
            expires_at=entry.record.lease_expires_at,
            index=self._index,
        )

    # -- writes ----------------------------------------------------------------------------

    async def register(self, descriptor: AgentDescriptor, ttl_seconds: float) -> Lease:
        self.counts.registrations += 1
        now = self._clock()
        old = self._entries.get(descriptor.instance_id)
        entry = _Entry(
            AgentRecord(
                descriptor=descriptor,
                status=HealthStatus.PASSING,
                registered_at=old.record.registered_at if old else now,
                last_heartbeat=now,
                lease_expires_at=now + ttl_seconds,
                source=SOURCE_API,
            ),
            ttl_seconds,
        )
        # Re-registering the same passing instance unchanged only renews its lease, which a
        # reader cannot see: like a heartbeat, it does not wake the watchers.
        visible = not (
            old is not None
            and old.record.status is HealthStatus.PASSING
            and old.record.source == SOURCE_API
            and old.record.descriptor == descriptor
        )
        with self._tx() as db:
            db.execute(_UPSERT, self._row(entry))
            index = self._write_index(db) if visible else self._index
        self._entries[descriptor.instance_id] = entry
        if visible:
            self._publish(index)
        return self._lease(entry)

    async def declare(self, descriptors: Iterable[AgentDescriptor]) -> None:
        now = self._clock()
        wanted = {d.instance_id: d for d in descriptors}
        upserts: list[_Entry] = []
        for d in wanted.values():
            old = self._entries.get(d.instance_id)
            if old and old.record.source == SOURCE_FILE and old.record.descriptor == d:
                continue
            record = AgentRecord(
                descriptor=d, registered_at=now, last_heartbeat=now, source=SOURCE_FILE
            )
            upserts.append(_Entry(record, None))
        removals = [
            iid
            for iid, e in self._entries.items()
            if e.record.source == SOURCE_FILE and iid not in wanted
        ]
        if not upserts and not removals:
            return
        with self._tx() as db:
            db.executemany(_UPSERT, [self._row(e) for e in upserts])
            db.executemany("DELETE FROM agents WHERE instance_id = ?", [(i,) for i in removals])
            index = self._write_index(db)
        for e in upserts:
            self._entries[e.record.descriptor.instance_id] = e
        for iid in removals:
            del self._entries[iid]
        self._publish(index)

    async def heartbeat(self, instance_id: str, load: InstanceLoad | None = None) -> Lease:
        old = self._entries.get(instance_id)
        if old is None:
            raise UnknownInstance(instance_id)
        if old.ttl_seconds is None:
            raise DeclaredInstance(instance_id)
        self.counts.heartbeats += 1
        now = self._clock()
        revived = old.record.status is not HealthStatus.PASSING
        update: dict[str, object] = {
            "status": HealthStatus.PASSING,
            "last_heartbeat": now,
            "lease_expires_at": now + old.ttl_seconds,
        }
        # A load report is kept in memory only (it is stale after a restart anyway); a
        # changed one is a change watchers see, so routers learn it at heartbeat pace.
        reloaded = load is not None and _busy(load) != _busy(old.record.load)
        if load is not None:
            update["load"] = load
        entry = _Entry(old.record.model_copy(update=update), old.ttl_seconds)
        with self._tx() as db:
            db.execute(
                "UPDATE agents SET status = ?, last_heartbeat = ?, lease_expires_at = ?"
                " WHERE instance_id = ?",
                (HealthStatus.PASSING.value, now, entry.record.lease_expires_at, instance_id),
            )
            index = self._write_index(db) if revived or reloaded else self._index
        self._entries[instance_id] = entry
        if revived or reloaded:
            self._publish(index)
        return self._lease(entry)

    async def deregister(self, instance_id: str) -> None:
        if instance_id not in self._entries:
            raise UnknownInstance(instance_id)
        with self._tx() as db:
            db.execute("DELETE FROM agents WHERE instance_id = ?", (instance_id,))
            index = self._write_index(db)
        del self._entries[instance_id]
        self._publish(index)

    async def sweep(self, now: float | None = None) -> int:
        now = self._clock() if now is None else now
        lapsed: list[_Entry] = []
        reaped: list[str] = []
        for iid, e in self._entries.items():
            expires = e.record.lease_expires_at
            if e.ttl_seconds is None or expires is None or expires > now:
                continue
            if now - expires >= self.reap_after_seconds:
                reaped.append(iid)
            elif e.record.status is HealthStatus.PASSING:
                update = {"status": HealthStatus.CRITICAL}
                lapsed.append(_Entry(e.record.model_copy(update=update), e.ttl_seconds))
        if not lapsed and not reaped:
            return 0
        with self._tx() as db:
            db.executemany(
                "UPDATE agents SET status = ? WHERE instance_id = ?",
                [(HealthStatus.CRITICAL.value, e.record.descriptor.instance_id) for e in lapsed],
            )
            db.executemany("DELETE FROM agents WHERE instance_id = ?", [(i,) for i in reaped])
            index = self._write_index(db)
        for e in lapsed:
            self._entries[e.record.descriptor.instance_id] = e
        for iid in reaped:
            del self._entries[iid]
        self._publish(index)
        self.counts.lapses += len(lapsed)
        self.counts.reaps += len(reaped)
        return len(lapsed) + len(reaped)

    # -- reads -----------------------------------------------------------------------------
    # Each read first applies lapses that are due, so what it reports matches the index even
    # between two runs of the background sweeper.

    async def get(self, instance_id: str) -> AgentRecord:
        await self.sweep()
        entry = self._entries.get(instance_id)
        if entry is None:
            raise UnknownInstance(instance_id)
        return entry.record

    async def list(self, filters: AgentFilter | None = None) -> builtins.list[AgentRecord]:
        await self.sweep()
        return select((e.record for e in self._entries.values()), filters)

    async def index(self) -> int:
        await self.sweep()
        return self._index

    async def wait_for_change(self, index: int, timeout: float) -> int:  # noqa: ASYNC109
        await self.sweep()
        return await self._watch.wait(lambda: self._index, index, timeout)


def _busy(load: InstanceLoad | None) -> tuple[int, int] | None:
    """What of a load report changes routing (not its timestamp)."""
    return None if load is None else (load.slots_in_use, load.queue_depth)
