"""Rows inserted into Postgres with group commit: the run store's admissions.

An admission is one ``INSERT`` of a run's row, committed before the run's ``run`` event goes
out. Each used to take a pooled connection, switch it to autocommit and back, and send its
own statement: ~0.2 ms of the orchestrator's CPU a run, most of it psycopg's and the
pool's Python, not the statement. ``GroupInsert`` keeps one connection of its own, in
autocommit (one statement, one transaction, committed when it returns), and sends one
statement at a time: the rows that arrive while one is out go together in the next (one
statement of several rows, one commit). Alone, a row goes at once; under load, it waits
for at most the statement before it.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import psycopg

Row = tuple[Any, ...]
# Seconds to open the connection (a pooled one was waited for up to the pool's 30): the
# rows waiting meanwhile get its error.
CONNECT_TIMEOUT = 10


@functools.lru_cache(maxsize=64)
def insert_sql(table: str, columns: str, n: int) -> str:
    """``INSERT`` of ``n`` rows of ``columns`` with Postgres' own ``$k`` placeholders."""
    width = len(columns.split(", "))
    marks = ",".join(
        "(" + ",".join(f"${i * width + j + 1}" for j in range(width)) + ")" for i in range(n)
    )
    return f"INSERT INTO {table} ({columns}) VALUES {marks}"


class GroupInsert:
    """``insert(row)`` into ``table`` on a connection of its own (opened at the first row,
    again after one is lost). Close it with ``close``."""

    def __init__(self, url: str, table: str, columns: str) -> None:
        self.url = url
        self.table = table
        self.columns = columns
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._queue: list[tuple[Row, asyncio.Future[None]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def insert(self, row: Row) -> None:
        """Insert ``row``: committed when it returns. Raises what its statement raised
        (a row refused in a statement of several is tried again alone, so only its own
        error reaches each caller). Cancelled before its statement is sent, the row is
        not sent; after, it may be stored, as a cancelled statement of its own may be."""
        done = asyncio.get_running_loop().create_future()
        self._queue.append((row, done))
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_all(), name="group-insert")
        await done

    async def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _send_all(self) -> None:
        batch: list[tuple[Row, asyncio.Future[None]]] = []
        try:
            while self._queue:
                batch = [(row, done) for row, done in self._queue if not done.done()]
                self._queue = []
                if len(batch) > 1:
                    try:
                        await self._execute([row for row, _ in batch])
                    except psycopg.OperationalError as exc:  # the connection: all of them
                        for _, done in batch:
                            _settle(done, exc)
                        continue
                    except psycopg.Error:  # one row's: stored none, each alone now
                        pass
                    else:
                        for _, done in batch:
                            _settle(done, None)
                        continue
                for row, done in batch:
                    try:
                        await self._execute([row])
                    except psycopg.Error as exc:
                        _settle(done, exc)
                    else:
                        _settle(done, None)
                batch = []
        except BaseException as exc:  # cancelled (closed), or a bug: nobody waits forever
            for _, done in [*batch, *self._queue]:
                _settle(done, exc if isinstance(exc, Exception) else RuntimeError("closed"))
            self._queue = []
            raise
        finally:
            self._sender = None

    async def _execute(self, rows: list[Row]) -> None:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            conn = self._conn = await psycopg.AsyncConnection.connect(
                self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT
            )
        try:
            async with psycopg.AsyncRawCursor(conn) as cur:
                await cur.execute(
                    insert_sql(self.table, self.columns, len(rows)), [v for r in rows for v in r]
                )
        except psycopg.OperationalError:  # lost or cut short: a new one for the next
            self._conn = None
            await conn.close()
            raise


def _settle(done: asyncio.Future[None], exc: BaseException | None) -> None:
    if done.done():  # its caller was cancelled meanwhile
        return
    if exc is None:
        done.set_result(None)
    else:
        done.set_exception(exc)
