"""Where saved workflows live: a table of their versions beside the runs (SQLite or
Postgres, the same database as the run store, its own connection and table).

A row is one version of one workflow of one owner: ``(owner, name, version)`` is its key,
and saving a name again adds the next version. A client sees and deletes only its own
(``owner`` is its token's scope; ``""`` on a mesh running open). The table is made when the
store opens (``CREATE TABLE IF NOT EXISTS``): nothing of the run store's schema changes.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from mesh_orchestrator.workflows.template import WorkflowSpec

#: Versions one owner may keep, all names together (a client's saved plans are bounded).
MAX_VERSIONS_PER_OWNER = 500


class TooManyVersions(Exception):
    """The owner keeps ``MAX_VERSIONS_PER_OWNER`` versions already."""


@dataclass
class StoredWorkflow:
    owner: str
    name: str
    version: int
    spec: WorkflowSpec
    created_at: float

    def body(self) -> dict[str, Any]:
        """What the API shows of it."""
        return {
            "name": self.name,
            "version": self.version,
            "owner": self.owner or None,
            "created_at": self.created_at,
            **self.spec.model_dump(mode="json", exclude={"name"}),
        }


class WorkflowStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def save(self, owner: str, spec: WorkflowSpec) -> StoredWorkflow:
        """Store ``spec`` as the next version of ``owner``'s workflow ``spec.name``."""
        ...

    async def get(self, owner: str, name: str, version: int | None = None) -> StoredWorkflow | None:
        """That version (None: the latest), or None."""
        ...

    async def list(self, owner: str | None) -> list[StoredWorkflow]:
        """The latest version of each workflow of ``owner`` (None: everyone's), by name."""
        ...

    async def delete(self, owner: str, name: str) -> int:
        """Remove every version; how many there were."""
        ...


def _row(r: Any) -> StoredWorkflow:
    spec = WorkflowSpec.model_validate({**json.loads(r[3]), "name": r[1]})
    return StoredWorkflow(r[0], r[1], int(r[2]), spec, float(r[4]))


def _body(spec: WorkflowSpec) -> str:
    return json.dumps(spec.model_dump(mode="json", exclude={"name"}))


class SQLiteWorkflowStore:
    """Table ``workflows`` in the run store's SQLite file (WAL: its own connection)."""

    def __init__(self, path: Path | str, table: str = "workflows") -> None:
        self.path = Path(path)
        self.table = table
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("SQLiteWorkflowStore is not open")
        return self._db

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, timeout=10)
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (owner TEXT NOT NULL, name TEXT NOT NULL, "
            "version INTEGER NOT NULL, body TEXT NOT NULL, created_at REAL NOT NULL, "
            "PRIMARY KEY (owner, name, version))"
        )
        await self._db.commit()

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def save(self, owner: str, spec: WorkflowSpec) -> StoredWorkflow:
        now = time.time()
        async with self._lock:
            async with self.db.execute(
                f"SELECT COUNT(*), COALESCE(MAX(CASE WHEN name = ? THEN version END), 0) "
                f"FROM {self.table} WHERE owner = ?",
                (spec.name, owner),
            ) as cur:
                row = await cur.fetchone()
            assert row is not None
            if row[0] >= MAX_VERSIONS_PER_OWNER:
                raise TooManyVersions
            version = int(row[1]) + 1
            await self.db.execute(
                f"INSERT INTO {self.table} VALUES (?, ?, ?, ?, ?)",
                (owner, spec.name, version, _body(spec), now),
            )
            await self.db.commit()
        return StoredWorkflow(owner, spec.name, version, spec, now)

    async def get(self, owner: str, name: str, version: int | None = None) -> StoredWorkflow | None:
        sql = f"SELECT owner, name, version, body, created_at FROM {self.table} WHERE owner = ? AND name = ?"
        args: tuple[Any, ...] = (owner, name)
        if version is not None:
            sql += " AND version = ?"
            args += (version,)
        sql += " ORDER BY version DESC LIMIT 1"
        async with self._lock, self.db.execute(sql, args) as cur:
            r = await cur.fetchone()
        return _row(r) if r is not None else None

    async def list(self, owner: str | None) -> list[StoredWorkflow]:
        sql = (
            f"SELECT owner, name, version, body, created_at FROM {self.table} w WHERE version = "
            f"(SELECT MAX(version) FROM {self.table} v WHERE v.owner = w.owner AND v.name = w.name)"
        )
        args: tuple[Any, ...] = ()
        if owner is not None:
            sql += " AND owner = ?"
            args = (owner,)
        async with self._lock, self.db.execute(sql + " ORDER BY name, owner", args) as cur:
            rows = await cur.fetchall()
        return [_row(r) for r in rows]

    async def delete(self, owner: str, name: str) -> int:
        async with self._lock:
            cur = await self.db.execute(
                f"DELETE FROM {self.table} WHERE owner = ? AND name = ?", (owner, name)
            )
            await self.db.commit()
        return int(cur.rowcount or 0)


class PostgresWorkflowStore:
    """Table ``mesh_workflows`` in the run store's Postgres database (any replica)."""

    def __init__(self, url: str, table: str = "mesh_workflows") -> None:
        from psycopg_pool import AsyncConnectionPool  # psycopg loads only where Postgres is used

        self.table = table
        self._pool = AsyncConnectionPool(url, min_size=1, max_size=4, open=False)

    async def open(self) -> None:
        await self._pool.open(wait=True, timeout=5.0)
        async with self._pool.connection() as conn, conn.transaction():
            # Replicas start together: one makes the table at a time.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.table,))
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} (owner TEXT NOT NULL, "
                "name TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL, "
                "created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (owner, name, version))"
            )

    async def close(self) -> None:
        await self._pool.close()

    async def save(self, owner: str, spec: WorkflowSpec) -> StoredWorkflow:
        now = time.time()
        async with self._pool.connection() as conn, conn.transaction():
            # One save per owner at a time: the count and the next version stay true.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{self.table}:{owner}",)
            )
            cur = await conn.execute(
                f"SELECT COUNT(*), COALESCE(MAX(CASE WHEN name = %s THEN version END), 0) "
                f"FROM {self.table} WHERE owner = %s",
                (spec.name, owner),
            )
            row = await cur.fetchone()
            assert row is not None
            if row[0] >= MAX_VERSIONS_PER_OWNER:
                raise TooManyVersions
            version = int(row[1]) + 1
            await conn.execute(
                f"INSERT INTO {self.table} VALUES (%s, %s, %s, %s, %s)",
                (owner, spec.name, version, _body(spec), now),
            )
        return StoredWorkflow(owner, spec.name, version, spec, now)

    async def get(self, owner: str, name: str, version: int | None = None) -> StoredWorkflow | None:
        sql = f"SELECT owner, name, version, body, created_at FROM {self.table} WHERE owner = %s AND name = %s"
        args: tuple[Any, ...] = (owner, name)
        if version is not None:
            sql += " AND version = %s"
            args += (version,)
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql + " ORDER BY version DESC LIMIT 1", args)
            r = await cur.fetchone()
        return _row(r) if r is not None else None

    async def list(self, owner: str | None) -> list[StoredWorkflow]:
        sql = (
            f"SELECT DISTINCT ON (owner, name) owner, name, version, body, created_at "
            f"FROM {self.table}"
        )
        args: tuple[Any, ...] = ()
        if owner is not None:
            sql += " WHERE owner = %s"
            args = (owner,)
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql + " ORDER BY owner, name, version DESC", args)
            rows = await cur.fetchall()
        return sorted((_row(r) for r in rows), key=lambda w: (w.name, w.owner))

    async def delete(self, owner: str, name: str) -> int:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"DELETE FROM {self.table} WHERE owner = %s AND name = %s", (owner, name)
            )
            return int(cur.rowcount or 0)


def open_workflow_store(database_url: str | None, db_path: Path) -> WorkflowStore:
    """Beside the run store: Postgres for a postgresql:// URL, else the SQLite file."""
    if database_url:
        return PostgresWorkflowStore(database_url)
    return SQLiteWorkflowStore(db_path)


__all__ = [
    "MAX_VERSIONS_PER_OWNER",
    "PostgresWorkflowStore",
    "SQLiteWorkflowStore",
    "StoredWorkflow",
    "TooManyVersions",
    "WorkflowStore",
    "open_workflow_store",
]
