"""The saved-workflow store on SQLite and Postgres (when 127.0.0.1:5432 answers): versions
per owner and name, the latest listed, deletes, and the bound on versions per owner."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from test_run_store import PG_URL, _pg_reachable

from mesh_orchestrator.workflows import store as store_module
from mesh_orchestrator.workflows.store import (
    PostgresWorkflowStore,
    SQLiteWorkflowStore,
    TooManyVersions,
    WorkflowStore,
)
from mesh_orchestrator.workflows.template import WorkflowSpec


def spec(name: str, description: str = "") -> WorkflowSpec:
    plan = {"tasks": [{"task_id": "a", "capability": "search", "input": {"query": "{{q}}"}}]}
    params = {"type": "object", "properties": {"q": {"type": "string"}}}
    return WorkflowSpec(name=name, description=description, parameters=params, plan=plan)


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[WorkflowStore]:
    table = f"wf_test_{uuid.uuid4().hex[:10]}"  # other engineers' tests share the database
    s: WorkflowStore
    if request.param == "sqlite":
        s = SQLiteWorkflowStore(tmp_path / "runs.sqlite3", table=table)
    else:
        if not _pg_reachable():
            pytest.skip("Postgres is not reachable at 127.0.0.1:5432 (db 'test', trust auth)")
        s = PostgresWorkflowStore(PG_URL, table=table)
    try:
        await s.open()
    except Exception as exc:
        pytest.skip(f"store unusable: {exc}")
    yield s
    if isinstance(s, PostgresWorkflowStore):
        async with await psycopg.AsyncConnection.connect(PG_URL, autocommit=True) as conn:
            await conn.execute(f"DROP TABLE IF EXISTS {table}")
    await s.close()


async def test_saving_a_name_again_adds_a_version_of_that_owners_workflow(
    store: WorkflowStore,
) -> None:
    assert (await store.save("client:a", spec("w", "one"))).version == 1
    assert (await store.save("client:a", spec("w", "two"))).version == 2
    assert (await store.save("client:b", spec("w", "bob's"))).version == 1
    latest = await store.get("client:a", "w")
    assert latest is not None and (latest.version, latest.spec.description) == (2, "two")
    first = await store.get("client:a", "w", 1)
    assert first is not None and first.spec.description == "one"
    assert await store.get("client:a", "w", 3) is None
    assert await store.get("client:c", "w") is None
    assert [(w.owner, w.version) for w in await store.list(None)] == [
        ("client:a", 2), ("client:b", 1)
    ]  # fmt: skip
    assert [w.spec.description for w in await store.list("client:b")] == ["bob's"]
    assert await store.delete("client:a", "w") == 2
    assert await store.get("client:a", "w") is None
    assert await store.get("client:b", "w") is not None


async def test_an_owner_keeps_a_bounded_number_of_versions(
    store: WorkflowStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "MAX_VERSIONS_PER_OWNER", 3)
    for i in range(3):
        await store.save("client:a", spec(f"w{i}"))
    with pytest.raises(TooManyVersions):
        await store.save("client:a", spec("w9"))
    assert (await store.save("client:b", spec("w9"))).version == 1
