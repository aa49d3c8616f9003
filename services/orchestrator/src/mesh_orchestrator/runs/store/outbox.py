"""The webhook outbox and push subscriptions in the run store.

A run's state change that someone subscribed to becomes a row of the outbox, stored by
``RunStore.save_run`` in the transaction that stores the state (the row's model and codec
are ``runs.store.deliveries``; ``enqueue`` stores rows on their own); a deliverer on any replica (``push.delivery``) takes due
rows with a lease (``claim``: Postgres ``FOR UPDATE SKIP LOCKED``, so replicas never take
the same row; SQLite has one process), posts them and marks them ``delivered`` or due again
later. A replica that dies holding a row lets its lease lapse; another (or its restart)
takes it again. A delivery's id is derived from the run, its state, its epoch and the
subscription, so the same change enqueued twice (two flushes, two replicas) is one row.

Subscriptions: A2A push-notification configs per task (``push_*``) and a client's default
webhook (``*_default``). All tables are additive (``CREATE TABLE IF NOT EXISTS``).

Retention (``runs.retention``) calls ``purge``: rows that are done (delivered, or given up)
go when their run is gone (removed by retention) or, while it is there, when they were
delivered (given up: created) before the owner's retention age; rows still due are kept.
Push configs go when their task's run is gone and they were made before that age.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel, Field

from mesh_orchestrator.runs.store.base import RunStore
from mesh_orchestrator.runs.store.deliveries import (
    DELIVERY_COLUMNS,
    Delivery,
    delivery_from_row,
    delivery_row,
    enqueue_sql,
)
from mesh_orchestrator.runs.store.rows import owner_clause

__all__ = ["Delivery", "Outbox", "PushConfig", "SQLOutbox", "delivery_row", "outbox_store"]

_TABLES = """
CREATE TABLE IF NOT EXISTS {p}webhook_outbox (
    delivery_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, event TEXT NOT NULL,
    url TEXT NOT NULL, secret TEXT, headers TEXT NOT NULL DEFAULT '{{}}', body TEXT NOT NULL,
    created_at {real} NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at {real},
    lease_owner TEXT, lease_until {real}, delivered_at {real}, last_error TEXT
);
CREATE INDEX IF NOT EXISTS {p}webhook_outbox_due ON {p}webhook_outbox (next_at);
CREATE TABLE IF NOT EXISTS {p}push_configs (
    task_id TEXT NOT NULL, config_id TEXT NOT NULL, owner TEXT, url TEXT NOT NULL,
    token TEXT, auth TEXT NOT NULL DEFAULT '{{}}', created_at {real} NOT NULL,
    PRIMARY KEY (task_id, config_id)
);
CREATE TABLE IF NOT EXISTS {p}webhook_defaults (
    owner TEXT PRIMARY KEY, url TEXT NOT NULL, secret TEXT
);
"""
SQLITE_SCHEMA = _TABLES.format(p="", real="REAL")
PG_SCHEMA = _TABLES.format(p="mesh_", real="DOUBLE PRECISION")
OUTBOX_LOCK = 0x6D657375  # "mesu": the advisory lock held while the tables are made
_D = DELIVERY_COLUMNS
_P = "task_id, config_id, owner, url, token, auth, created_at"


class PushConfig(BaseModel):
    """An A2A push-notification config of one task (run): where to post its updates."""

    task_id: str
    config_id: str
    owner: str | None = None
    url: str
    token: str | None = None
    auth: dict[str, Any] = Field(default_factory=dict)  # {"scheme", "credentials"}
    created_at: float = Field(default_factory=time.time)


def _push_row(c: PushConfig) -> tuple[Any, ...]:
    return (c.task_id, c.config_id, c.owner, c.url, c.token, json.dumps(c.auth), c.created_at)


def _push(row: Sequence[Any]) -> PushConfig:
    values = dict(zip(_P.split(", "), row, strict=True))
    values["auth"] = json.loads(values["auth"] or "{}")
    return PushConfig.model_validate(values)


class Outbox(Protocol):
    async def open(self) -> None: ...

    async def enqueue(self, deliveries: Sequence[Delivery]) -> int:
        """Store deliveries; one whose id is stored already is skipped. Returns how many
        were new."""
        ...

    async def claim(self, owner: str, lease_seconds: float, limit: int = 20) -> list[Delivery]:
        """Due deliveries nobody holds (or whose holder's lease lapsed, or held by
        ``owner``: its previous incarnation's), now held by ``owner`` for ``lease_seconds``."""
        ...

    async def delivered(self, delivery_id: str, attempts: int) -> None: ...

    async def attempt(
        self, delivery_id: str, owner: str, attempts: int, error: str | None, lease_seconds: float
    ) -> bool:
        """A try is about to be made: store its count (and the previous try's error), and
        hold the row ``lease_seconds`` more, while ``owner`` still holds it (False if not).
        A replica killed mid-retries leaves the count it reached."""
        ...

    async def retry_later(
        self, delivery_id: str, attempts: int, next_at: float | None, error: str
    ) -> None:
        """Let the delivery go (its lease ends) until ``next_at`` (None: given up)."""
        ...

    async def deliveries(self, run_id: str) -> list[Delivery]:
        """The run's deliveries, oldest first (``GET /v1/runs/{id}/webhooks``)."""
        ...

    async def set_push(self, config: PushConfig) -> None: ...

    async def get_push(self, task_id: str, config_id: str) -> PushConfig | None: ...

    async def list_push(self, task_id: str) -> list[PushConfig]: ...

    async def push_of(self, task_ids: Sequence[str]) -> dict[str, list[PushConfig]]:
        """``list_push`` of several tasks in one read: the tasks that have configs."""
        ...

    async def delete_push(self, task_id: str, config_id: str) -> bool: ...

    async def set_default(self, owner: str, url: str, secret: str | None) -> None: ...

    async def get_default(self, owner: str) -> tuple[str, str | None] | None: ...

    async def delete_default(self, owner: str) -> bool: ...

    async def purge(
        self, before: float, owners: Sequence[str] | None, exclude: Sequence[str], limit: int
    ) -> tuple[int, int]:
        """Retention (see the module docstring): remove at most ``limit`` done deliveries
        and the push configs of at most ``limit`` gone runs, of ``owners`` (None: any owner
        not in ``exclude``), older than ``before``; returns (deliveries, push configs)."""
        ...


class _SQL:
    """The statements of both backends, with the table prefix and the placeholder."""

    def __init__(self, prefix: str, mark: str) -> None:
        m, p = mark, prefix
        self.prefix, self.mark = prefix, mark
        self.enqueue = enqueue_sql(p, m)
        self.delivered = (
            f"UPDATE {p}webhook_outbox SET delivered_at = {m}, attempts = {m}, next_at = NULL, "
            f"lease_owner = NULL, lease_until = NULL, last_error = NULL WHERE delivery_id = {m}"
        )
        self.retry = (
            f"UPDATE {p}webhook_outbox SET attempts = {m}, next_at = {m}, last_error = {m}, "
            f"lease_owner = NULL, lease_until = NULL WHERE delivery_id = {m}"
        )
        self.attempt = (
            f"UPDATE {p}webhook_outbox SET attempts = {m}, last_error = {m}, lease_until = {m} "
            f"WHERE delivery_id = {m} AND lease_owner = {m} RETURNING delivery_id"
        )
        self.deliveries = (
            f"SELECT {_D} FROM {p}webhook_outbox WHERE run_id = {m} ORDER BY created_at"
        )
        self.due = (
            f"SELECT delivery_id FROM {p}webhook_outbox WHERE delivered_at IS NULL "
            f"AND next_at <= {m} AND (lease_until IS NULL OR lease_until < {m} "
            f"OR lease_owner = {m}) "
            f"ORDER BY next_at LIMIT {m}"
        )
        self.take = (
            f"UPDATE {p}webhook_outbox SET lease_owner = {m}, lease_until = {m} "
            "WHERE delivery_id IN ({due}) RETURNING " + _D
        )
        self.set_push = (
            f"INSERT INTO {p}push_configs ({_P}) VALUES ({','.join([m] * 7)}) "
            "ON CONFLICT (task_id, config_id) DO UPDATE SET url = excluded.url, "
            "token = excluded.token, auth = excluded.auth"
        )
        self.get_push = f"SELECT {_P} FROM {p}push_configs WHERE task_id = {m} AND config_id = {m}"
        self.list_push = f"SELECT {_P} FROM {p}push_configs WHERE task_id = {m} ORDER BY created_at"
        self.delete_push = (
            f"DELETE FROM {p}push_configs WHERE task_id = {m} AND config_id = {m} RETURNING task_id"
        )
        self.set_default = (
            f"INSERT INTO {p}webhook_defaults (owner, url, secret) VALUES ({m},{m},{m}) "
            "ON CONFLICT (owner) DO UPDATE SET url = excluded.url, secret = excluded.secret"
        )
        self.get_default = f"SELECT url, secret FROM {p}webhook_defaults WHERE owner = {m}"
        self.delete_default = f"DELETE FROM {p}webhook_defaults WHERE owner = {m} RETURNING owner"


class SQLiteTables:
    """How the outbox reaches the SQLite run store's database (its connection and lock)."""

    sql = _SQL("", "?")
    schema = SQLITE_SCHEMA
    skip_locked = ""  # one process holds the file: nobody else takes rows
    # ...nor writes push configs: every one is written by this process's ``set_push``, so
    # ``SQLOutbox`` may know the table holds none without reading it.
    one_process = True

    def __init__(self, store: Any) -> None:
        self.store = store

    async def run(self, statement: str, args: Sequence[Any], commit: bool = False) -> list[Any]:
        async with self.store.lock:  # one call to the connection's thread, not three
            rows = list(await self.store.db.execute_fetchall(statement, args))
            if commit:
                await self.store.db.commit()
        return rows

    async def lookup(self, statement: str, args: Sequence[Any]) -> list[Any]:
        """A read of a few rows by key, on the loop's thread under the store's lock (as the
        store's ``admit``, ``runs.store.sqlite``'s docstring): a flush reads the push
        configs of its ended runs, and a hand-off to aiosqlite's thread and back cost
        more CPU than the indexed read itself. WAL: a writer on another connection never
        blocks it."""
        async with self.store.lock:
            return self.store.db._conn.execute(statement, args).fetchall()  # type: ignore[no-any-return]

    async def insert(self, statement: str, rows: Sequence[Sequence[Any]]) -> int:
        n = 0
        async with self.store.lock:
            for row in rows:
                cur = await self.store.db.execute(statement, row)
                n += cur.rowcount
            await self.store.db.commit()
        return n

    async def create(self) -> None:
        async with self.store.lock:
            await self.store.db.executescript(self.schema)
            await self.store.db.commit()


class PostgresTables:
    """How the outbox reaches Postgres (the run store's pool); rows another replica is
    taking are skipped (``FOR UPDATE SKIP LOCKED``)."""

    sql = _SQL("mesh_", "%s")
    schema = PG_SCHEMA
    skip_locked = " FOR UPDATE SKIP LOCKED"
    one_process = False  # other replicas write push configs: every flush reads them

    def __init__(self, store: Any) -> None:
        self.store = store

    async def run(self, statement: str, args: Sequence[Any], commit: bool = False) -> list[Any]:
        async with self.store.pool.connection() as conn:
            cur = await conn.execute(statement, args)
            return list(await cur.fetchall()) if cur.description else []

    async def lookup(self, statement: str, args: Sequence[Any]) -> list[Any]:
        """A read of a few rows by key, in autocommit (the store's ``autocommit``): one
        round trip where ``run`` takes three (``BEGIN``, the read, the pool's ``COMMIT``).
        A flush reads the push configs of its ended runs so."""
        async with self.store.autocommit() as conn:
            cur = await conn.execute(statement, args)
            return list(await cur.fetchall())

    async def insert(self, statement: str, rows: Sequence[Sequence[Any]]) -> int:
        n = 0
        async with self.store.pool.connection() as conn, conn.transaction():
            for row in rows:
                cur = await conn.execute(statement, row)
                n += cur.rowcount
        return n

    async def create(self) -> None:
        async with self.store.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (OUTBOX_LOCK,))
            await conn.execute(self.schema)


class SQLOutbox:
    """The ``Outbox`` over either backend's tables (``SQLiteTables``, ``PostgresTables``)."""

    def __init__(self, tables: SQLiteTables | PostgresTables) -> None:
        self.tables = tables
        self.sql = tables.sql
        # SQLite (``one_process``): whether the push configs table is known to hold no row,
        # so that ``push_of`` (every flush that stores an ended run asks it) answers without
        # a read. Found by one read (``_none_yet``) and cleared by every ``set_push``,
        # before its write and after it (a read that overlapped the write is not kept:
        # ``_push_writes`` moved). Deletes leave it as it is (a config may be left).
        # Postgres: never known (another replica may have written one).
        self._no_push = False
        self._push_known = not tables.one_process
        self._push_writes = 0

    async def open(self) -> None:
        await self.tables.create()

    async def enqueue(self, deliveries: Sequence[Delivery]) -> int:
        return await self.tables.insert(self.sql.enqueue, [delivery_row(d) for d in deliveries])

    async def claim(self, owner: str, lease_seconds: float, limit: int = 20) -> list[Delivery]:
        now = time.time()
        take = self.sql.take.format(due=self.sql.due + self.tables.skip_locked)
        args = (owner, now + lease_seconds, now, now, owner, limit)
        return [delivery_from_row(r) for r in await self.tables.run(take, args, commit=True)]

    async def delivered(self, delivery_id: str, attempts: int) -> None:
        await self.tables.run(self.sql.delivered, (time.time(), attempts, delivery_id), True)

    async def attempt(
        self, delivery_id: str, owner: str, attempts: int, error: str | None, lease_seconds: float
    ) -> bool:
        until = time.time() + lease_seconds
        args = (attempts, None if error is None else error[:500], until, delivery_id, owner)
        return bool(await self.tables.run(self.sql.attempt, args, commit=True))

    async def retry_later(
        self, delivery_id: str, attempts: int, next_at: float | None, error: str
    ) -> None:
        await self.tables.run(self.sql.retry, (attempts, next_at, error[:500], delivery_id), True)

    async def deliveries(self, run_id: str) -> list[Delivery]:
        return [delivery_from_row(r) for r in await self.tables.run(self.sql.deliveries, (run_id,))]

    async def set_push(self, config: PushConfig) -> None:
        self._push_writes += 1
        self._no_push = False  # from here on every flush reads the configs
        try:
            await self.tables.run(self.sql.set_push, _push_row(config), commit=True)
        finally:
            self._push_writes += 1
            self._no_push = False  # whatever a read that overlapped the write found

    async def get_push(self, task_id: str, config_id: str) -> PushConfig | None:
        rows = await self.tables.run(self.sql.get_push, (task_id, config_id))
        return _push(rows[0]) if rows else None

    async def list_push(self, task_id: str) -> list[PushConfig]:
        return [_push(r) for r in await self.tables.run(self.sql.list_push, (task_id,))]

    async def push_of(self, task_ids: Sequence[str]) -> dict[str, list[PushConfig]]:
        if not task_ids or self._no_push or (not self._push_known and await self._none_yet()):
            return {}
        m = self.sql.mark
        rows = await self.tables.lookup(
            f"SELECT {_P} FROM {self.sql.prefix}push_configs WHERE task_id IN "
            f"({','.join([m] * len(task_ids))}) ORDER BY created_at",
            tuple(task_ids),
        )
        out: dict[str, list[PushConfig]] = {}
        for row in rows:
            config = _push(row)
            out.setdefault(config.task_id, []).append(config)
        return out

    async def _none_yet(self) -> bool:
        """SQLite: read once whether the push configs table holds any row (a database
        opened again may hold some); kept unless a ``set_push`` began meanwhile."""
        writes = self._push_writes
        rows = await self.tables.lookup(
            f"SELECT EXISTS (SELECT 1 FROM {self.sql.prefix}push_configs)", ()
        )
        if writes != self._push_writes:  # a write overlapped the read: read the configs
            return False
        self._push_known = True
        self._no_push = not rows[0][0]
        return self._no_push

    async def delete_push(self, task_id: str, config_id: str) -> bool:
        return bool(await self.tables.run(self.sql.delete_push, (task_id, config_id), True))

    async def set_default(self, owner: str, url: str, secret: str | None) -> None:
        await self.tables.run(self.sql.set_default, (owner, url, secret), commit=True)

    async def get_default(self, owner: str) -> tuple[str, str | None] | None:
        rows = await self.tables.lookup(self.sql.get_default, (owner,))
        return (rows[0][0], rows[0][1]) if rows else None

    async def delete_default(self, owner: str) -> bool:
        return bool(await self.tables.run(self.sql.delete_default, (owner,), commit=True))

    async def purge(
        self, before: float, owners: Sequence[str] | None, exclude: Sequence[str], limit: int
    ) -> tuple[int, int]:
        p, m = self.sql.prefix, self.sql.mark
        who, who_args = owner_clause("r.owner", owners, exclude, m)
        # Done: next_at is NULL (delivered, or given up) and nobody holds the row.
        done = (
            f"DELETE FROM {p}webhook_outbox WHERE delivery_id IN (SELECT o.delivery_id FROM "
            f"{p}webhook_outbox o LEFT JOIN {p}runs r ON r.run_id = o.run_id "
            "WHERE o.next_at IS NULL AND o.lease_owner IS NULL AND (r.run_id IS NULL OR "
            f"(COALESCE(o.delivered_at, o.created_at) < {m}{who})) LIMIT {m}) "
            "RETURNING delivery_id"
        )
        rows = await self.tables.run(done, (before, *who_args, limit), commit=True)
        who, who_args = owner_clause("c.owner", owners, exclude, m)
        gone = f"NOT EXISTS (SELECT 1 FROM {p}runs r WHERE r.run_id = {p}push_configs.task_id)"
        push = (
            f"DELETE FROM {p}push_configs WHERE {gone} AND task_id IN (SELECT c.task_id FROM "
            f"{p}push_configs c WHERE c.created_at < {m}{who} AND NOT EXISTS (SELECT 1 FROM "
            f"{p}runs r WHERE r.run_id = c.task_id) LIMIT {m}) RETURNING task_id"
        )
        configs = await self.tables.run(push, (before, *who_args, limit), commit=True)
        return len(rows), len(configs)


def outbox_store(store: RunStore) -> Outbox:
    """The outbox tables of ``store``'s database (Postgres or SQLite)."""
    from mesh_orchestrator.runs.store.postgres import PostgresRunStore

    if isinstance(store, PostgresRunStore):
        return SQLOutbox(PostgresTables(store))
    return SQLOutbox(SQLiteTables(store))
