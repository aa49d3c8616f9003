"""What round 14 cut from a run's CPU keeps its behaviour (bench/README.md, "Round 14: CPU per
run"): a SQLite flush answers "which push configs do these ended runs have" without a read
while the table is known to hold none, and finds every config set since; the notifier makes
no ``_deliveries`` call for an ended run with no subscription and answers as that call does.

Each test fails with its cut made wrong: a "none" kept after a ``set_push`` (or read while one
was under way), a database opened again with configs read as empty, Postgres skipping its read,
a run with a webhook or an owner taken for one with no subscription.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mesh_contracts import RunStatus
from mesh_orchestrator.push.notifier import WEBHOOK_OPTION, Notifier
from mesh_orchestrator.runs.store import SQLiteRunStore
from mesh_orchestrator.runs.store.base import RunRecord
from mesh_orchestrator.runs.store.outbox import (
    PostgresTables,
    PushConfig,
    SQLOutbox,
    outbox_store,
)


def _statements(store: SQLiteRunStore) -> list[str]:
    """Every statement the store's connection runs from now on (SQLite's trace callback)."""
    seen: list[str] = []
    store.db._conn.set_trace_callback(seen.append)
    return seen


def _urls(found: dict[str, list[PushConfig]]) -> dict[str, list[str]]:
    return {k: [c.url for c in v] for k, v in found.items()}


async def test_an_empty_push_table_is_read_once_then_not_at_all(tmp_path: Path) -> None:
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await store.open()
    try:
        outbox = outbox_store(store)
        await outbox.open()
        seen = _statements(store)
        assert await outbox.push_of(["r1", "r2"]) == {}
        assert len([s for s in seen if "push_configs" in s]) == 1  # the one check
        seen.clear()
        for _ in range(5):
            assert await outbox.push_of(["r1", "r2", "r3"]) == {}
        assert seen == []  # known empty: no statement at all
        # A config set now is found by the very next flush, and every later one.
        await outbox.set_push(PushConfig(task_id="r2", config_id="c1", url="http://b"))
        assert _urls(await outbox.push_of(["r1", "r2"])) == {"r2": ["http://b"]}
        assert _urls(await outbox.push_of(["r2"])) == {"r2": ["http://b"]}
        # Deleted again: still read (not known empty), and right.
        assert await outbox.delete_push("r2", "c1")
        seen.clear()
        assert await outbox.push_of(["r2"]) == {}
        assert any("push_configs" in s for s in seen)
    finally:
        await store.close()


async def test_a_database_opened_again_keeps_its_push_configs(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    store = SQLiteRunStore(path)
    await store.open()
    outbox = outbox_store(store)
    await outbox.open()
    await outbox.set_push(PushConfig(task_id="r1", config_id="c1", url="http://a"))
    await store.close()
    store = SQLiteRunStore(path)
    await store.open()
    try:
        again = outbox_store(store)
        await again.open()
        assert _urls(await again.push_of(["r1", "r9"])) == {"r1": ["http://a"]}
        assert _urls(await again.push_of(["r1"])) == {"r1": ["http://a"]}
    finally:
        await store.close()


async def test_a_set_push_during_the_check_is_never_read_as_none(tmp_path: Path) -> None:
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await store.open()
    try:
        outbox = outbox_store(store)
        await outbox.open()
        assert isinstance(outbox, SQLOutbox)
        real = outbox.tables.lookup

        async def check_then_set(statement: str, args: Sequence[Any]) -> list[Any]:
            rows = await real(statement, args)
            if "EXISTS" in statement:  # the table was empty when read; a config comes now
                await outbox.set_push(PushConfig(task_id="r1", config_id="c1", url="http://a"))
            return rows

        outbox.tables.lookup = check_then_set  # type: ignore[method-assign]
        assert _urls(await outbox.push_of(["r1"])) == {"r1": ["http://a"]}
        outbox.tables.lookup = real  # type: ignore[method-assign]
        assert _urls(await outbox.push_of(["r1"])) == {"r1": ["http://a"]}
    finally:
        await store.close()


class _FakePostgresStore:
    """Unit-test fake of the Postgres run store: ``autocommit`` answers reads with no rows
    and counts them."""

    def __init__(self) -> None:
        self.reads = 0

    def autocommit(self) -> Any:
        fake = self

        class _Conn:
            async def __aenter__(self) -> Any:
                return self

            async def __aexit__(self, *exc: object) -> None:
                return None

            async def execute(self, statement: str, args: Sequence[Any]) -> Any:
                fake.reads += 1

                class _Cur:
                    async def fetchall(self) -> list[Any]:
                        return []

                return _Cur()

        return _Conn()


async def test_postgres_reads_the_configs_at_every_flush() -> None:
    fake = _FakePostgresStore()
    outbox = SQLOutbox(PostgresTables(fake))
    for _ in range(3):
        assert await outbox.push_of(["r1"]) == {}
    assert fake.reads == 3  # other replicas write configs: never known empty


def _run(
    run_id: str, *, owner: str | None = None, options: dict[str, Any] | None = None
) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        query="q",
        created_at=1.0,
        status=RunStatus.COMPLETED,
        finished_at=2.0,
        options=options or {},
        owner=owner,
        epoch=1,
    )


async def test_deliveries_of_runs_with_and_without_subscriptions(tmp_path: Path) -> None:
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await store.open()
    try:
        outbox = outbox_store(store)
        await outbox.open()
        await outbox.set_push(PushConfig(task_id="pushed", config_id="c1", url="http://p"))
        await outbox.set_default("alice", "http://alice", "s")
        notifier = Notifier(outbox, deliverer=None, policy=None)  # type: ignore[arg-type]
        notifier.a2a_body = lambda run: "{}"
        hook = {"url": "http://hook", "secret": "x"}
        runs = [
            _run("bare"),
            _run("hooked", options={WEBHOOK_OPTION: hook}),
            _run("owned", owner="alice"),
            _run("owned-none", owner="bob"),
            _run("pushed"),
            _run("odd-hook", options={WEBHOOK_OPTION: "not a dict"}),
            _run("live", options={WEBHOOK_OPTION: hook}).model_copy(
                update={"status": RunStatus.RUNNING}
            ),
        ]
        found = await notifier.deliveries(runs)
        configs = await outbox.push_of([r.run_id for r in runs])
        ended = [r for r in runs if r.status != RunStatus.RUNNING]
        expected = {
            r.run_id: await notifier._deliveries(r, configs.get(r.run_id, [])) for r in ended
        }

        def key(d: dict[str, list[Any]]) -> dict[str, list[tuple[str, str, str]]]:
            return {k: [(x.delivery_id, x.url, x.event) for x in v] for k, v in d.items()}

        assert key(found) == key(expected)
        assert set(found) == {r.run_id for r in ended}  # every ended run named, [] or not
        assert [x.url for x in found["hooked"]] == ["http://hook"]
        assert [x.url for x in found["owned"]] == ["http://alice"]
        assert [x.url for x in found["pushed"]] == ["http://p"]
        assert found["bare"] == [] and found["owned-none"] == [] and found["odd-hook"] == []
    finally:
        await store.close()
