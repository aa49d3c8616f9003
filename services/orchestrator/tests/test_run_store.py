"""The run store conformance suite (``mesh_testkit.conformance``) on SQLite and Postgres.

SQLite always runs; Postgres runs when 127.0.0.1:5432 answers (db ``test``, trust auth), on a
database of the module's own made there.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest

from mesh_orchestrator.runs.store import PostgresRunStore, RunRecord, RunStore, SQLiteRunStore
from mesh_testkit.conformance.run_store import RecordFactory, RunStoreConformance
from mesh_testkit.postgres import PG_ADMIN, scratch_database

PG_URL = PG_ADMIN  # MESH_TEST_POSTGRES, by default postgresql://postgres@127.0.0.1:5432/test


def _pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """A Postgres database of this module's own, made and dropped here: runs that another
    test session or xdist worker writes meanwhile never reach this suite's listings, orphan
    scans or ``mark_interrupted`` (as they would in the shared db ``test``)."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(scratch_database("mesh_runstore"))
        except psycopg.Error as exc:  # reachable port, but no such db/user: say so and skip
            pytest.skip(f"Postgres at {PG_URL} unusable: {exc}")
        yield url


class TestRunStores(RunStoreConformance):
    @pytest.fixture
    def record_factory(self) -> RecordFactory:
        return RunRecord

    @pytest.fixture(params=["sqlite", "postgres"])
    async def store(
        self, request: pytest.FixtureRequest, tmp_path: Path
    ) -> AsyncIterator[RunStore]:
        s: RunStore
        if request.param == "sqlite":
            s = SQLiteRunStore(tmp_path / "runs.sqlite3")
        else:
            if not _pg_reachable():
                pytest.skip("Postgres is not reachable at 127.0.0.1:5432 (db 'test', trust auth)")
            s = PostgresRunStore(request.getfixturevalue("pg_database"))
        try:
            await s.open()
        except Exception as exc:  # reachable port, but no such db/user: say so and skip
            pytest.skip(f"Postgres at {PG_URL} unusable: {exc}")
        yield s
        await s.close()
