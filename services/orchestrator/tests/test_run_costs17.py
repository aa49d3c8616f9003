"""Round 17 (lean-runs17): a run reads the registry once per kind of task, not three times,
and a flush's save of a run's row leaves its ``created_at`` index entry alone
(bench/README.md, "Round 17: CPU per run (branch lean-runs17)"). Counts, never timings."""

from __future__ import annotations

import struct
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mesh_contracts import AgentDescriptor, AgentRecord, ExecutionPlan, HealthStatus, SubTask
from mesh_orchestrator.routing import resolver as resolver_module
from mesh_orchestrator.routing.resolver import MEMO_KINDS, Resolver
from mesh_orchestrator.runs.store.base import RunRecord
from mesh_orchestrator.runs.store.rows import UPDATED
from mesh_orchestrator.runs.store.sqlite import SAVE_RUN, SQLiteRunStore

NOW = time.time()


def _record(instance: str, caps: list[str], *, agent: str = "writer", healthy: bool = True,
            gpu: bool = False, vram: int | None = None, priority: int = 0) -> AgentRecord:  # fmt: skip
    d = AgentDescriptor(
        agent_id=agent, instance_id=instance, capabilities=caps, priority=priority,
        endpoint=f"http://127.0.0.1:1/{instance}", resources={"gpu": gpu, "vram_mb": vram},
    )  # fmt: skip
    status = HealthStatus.PASSING if healthy else HealthStatus.CRITICAL
    return AgentRecord(descriptor=d, status=status, registered_at=NOW, last_heartbeat=NOW)


def _registry() -> list[AgentRecord]:
    return [
        _record("a", ["text"], priority=1),
        _record("b", ["text"]),
        _record("c", ["text"], healthy=False),
        _record("d", ["image"], agent="painter", gpu=True, vram=8000),
        _record("e", ["image"], agent="painter", gpu=True, vram=80000),
        _record("f", ["audio"], agent="speaker"),
    ]


TASKS = [
    SubTask(task_id="t1", capability="text"),
    SubTask(task_id="t2", capability="image", requires={"gpu": True}),
    SubTask(task_id="t3", capability="image", requires={"min_vram_mb": 40000}),
    SubTask(task_id="t4", capability="image", requires={"min_vram_mb": 200000}),
    SubTask(task_id="t5", capability="x", agent_id="writer"),
    SubTask(task_id="t6", capability="text", agent_id="painter"),
    SubTask(task_id="t7", capability="nobody"),
]


def _counting_serves(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    calls: Counter[str] = Counter()
    real = resolver_module.serves

    def serves(d: AgentDescriptor, task: SubTask) -> bool:
        calls[task.task_id] += 1
        return real(d, task)

    monkeypatch.setattr(resolver_module, "serves", serves)
    return calls


def _one_run(r: Resolver, task: SubTask) -> tuple[Any, ...]:
    """What a run asks of routing: the graph's check, the executor's pick, the status
    event's explanation."""
    plan = ExecutionPlan(tasks=[task])
    return r.unresolvable(plan), r.pick(task), r.explain(task)


def test_runs_read_the_registry_once_per_kind_of_task_not_three_times_a_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _counting_serves(monkeypatch)
    records = _registry()
    holder = {"records": records}
    r = Resolver(lambda: holder["records"])
    for _ in range(20):  # 20 runs of one pinned kind of task
        _one_run(r, TASKS[0])
    assert calls["t1"] == len(records)  # one pass over the registry, for all 20 runs
    assert r.scans == 1
    holder["records"] = list(records)  # the registry changed (a new list): read again
    for _ in range(20):
        _one_run(r, TASKS[0])
    assert calls["t1"] == 2 * len(records)
    assert r.scans == 2


def test_routing_answers_as_a_fresh_read_of_the_registry_each_time() -> None:
    records = _registry()
    kept = Resolver(lambda: records)  # the same list each time: answered from the memo
    fresh = Resolver(lambda: list(records))  # a new list each time: read every time
    for resolver in (kept, fresh):
        for _ in range(3):
            resolver.failed("b", "boom")  # b ejected (breakers are read live)
        resolver.acquire("e")
    for _ in range(2):
        for t in TASKS:
            assert _one_run(kept, t) == _one_run(fresh, t)
            assert kept.candidates(t) == fresh.candidates(t)
            assert kept.why_not(t) == fresh.why_not(t)
    assert kept.pick(TASKS[0]).instance_id == "a"  # type: ignore[union-attr]
    for resolver in (kept, fresh):  # a breaker that opens after the memo is filled
        for _ in range(3):
            resolver.failed("a", "boom")
    assert kept.pick(TASKS[0]) is None
    assert _one_run(kept, TASKS[0]) == _one_run(fresh, TASKS[0])
    assert [c["admits"] for c in kept.explain(TASKS[0])] == [
        False,
        False,
        True,
    ]  # c: down, not ejected


def test_the_memo_of_kinds_of_task_is_bounded() -> None:
    records = _registry()
    r = Resolver(lambda: records)
    for i in range(3 * MEMO_KINDS):
        r.pick(SubTask(task_id="t", capability=f"cap_{i}"))
    assert len(r._routes_of) <= MEMO_KINDS
    assert r.scans == 3 * MEMO_KINDS


# --- the run's row: a save leaves what never changes alone --------------------------------


def _wal_pages(path: Path) -> list[int]:
    """The page of each frame in the WAL, its current generation (salts of its header)."""
    wal = (Path(str(path) + "-wal")).read_bytes()
    page_size, salts = struct.unpack(">I", wal[8:12])[0], wal[16:24]
    pages, at = [], 32
    while at + 24 + page_size <= len(wal) and wal[at + 8 : at + 16] == salts:
        pages.append(struct.unpack(">I", wal[at : at + 4])[0])
        at += 24 + page_size
    return pages


def test_a_save_sets_neither_the_query_nor_when_the_run_was_made() -> None:
    assert set(UPDATED.split(", ")) == {
        "status", "finished_at", "plan", "answer", "last_seq", "options", "seq_reserved",
    }  # fmt: skip
    assert "created_at = excluded" not in SAVE_RUN and "query = excluded" not in SAVE_RUN


async def test_flushes_that_save_rows_write_no_page_of_the_created_index(tmp_path: Path) -> None:
    """Counted in WAL frames: 20 flushes, each saving 50 stored runs' rows, write no page of
    ``runs_created`` (a save that set ``created_at`` rewrote its entry: a page each)."""
    path = tmp_path / "runs.sqlite3"
    store = SQLiteRunStore(path)
    await store.open()
    try:
        now = time.time()
        records = [
            RunRecord(
                run_id=f"run-{i:03d}",
                query="q",
                created_at=now + i,
                lease_owner="r",
                epoch=1,
                lease_expires_at=now + 30,
            )
            for i in range(50)
        ]
        for rec in records:
            assert await store.admit(rec, 10**9)
        conn = store.db._conn
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        for flush in range(20):
            for rec in records:
                rec.last_seq = flush + 1
                rec.plan = [{"task_id": "t", "status": f"s{flush}"}]
            assert await store.store_batch(records, [], {}) == set()
        index = {
            p for (p,) in conn.execute("SELECT pageno FROM dbstat WHERE name = 'runs_created'")
        }
        table = {p for (p,) in conn.execute("SELECT pageno FROM dbstat WHERE name = 'runs'")}
        pages = Counter(_wal_pages(path))
        assert sum(pages[p] for p in table) >= 20  # the rows were written, each flush
        assert sum(pages[p] for p in index) == 0
        stored = await store.get_run("run-007")
        assert stored is not None and stored.last_seq == 20 and stored.created_at == now + 7
        assert stored.query == "q"
    finally:
        await store.close()
