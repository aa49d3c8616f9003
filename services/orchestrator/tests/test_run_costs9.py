"""What round 9 cut from a run's CPU keeps its behaviour (bench/README.md, "Round 9").

Each test fails with its cut made wrong: a small SQLite flush stored on the loop's thread
(and a large one, or one that checkpoints, still in aiosqlite's), a Postgres flush of many
runs' rows by Postgres' own placeholders (every row saved, the stale one refused), a run
row's JSON by orjson read back as ``json.dumps``' was (NaN and non-string keys as before),
the intent model's logits kept per text (equal to the computed ones, bounded, a model's
own, never changed by a caller).
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mesh_contracts import StreamEvent
from mesh_orchestrator.api.models import OrchestrateRequest
from mesh_orchestrator.planning.intent import model as intent_model
from mesh_orchestrator.planning.intent.model import IntentModel, features
from mesh_orchestrator.runs.store import PostgresRunStore, SQLiteRunStore
from mesh_orchestrator.runs.store import sqlite as sqlite_store
from mesh_orchestrator.runs.store.base import RunRecord
from mesh_orchestrator.runs.store.postgres import save_runs_sql
from mesh_orchestrator.runs.store.rows import COLUMNS, run_from_row, run_row
from mesh_testkit.postgres import scratch_database


def _run(**kw: Any) -> RunRecord:
    # A lapsed lease: another replica ("b") may claim it.
    lease = {"lease_owner": "a", "epoch": 1, "lease_expires_at": time.time() - 1}
    return RunRecord(run_id=uuid.uuid4().hex, query="q", created_at=time.time(), **lease | kw)


def _ev(run_id: str, seq: int, type_: str = "token") -> StreamEvent:
    return StreamEvent.model_validate(
        {"run_id": run_id, "seq": seq, "type": type_, "data": {"token": str(seq)}}
    )


def _count_hand_offs(store: SQLiteRunStore) -> list[int]:
    """The threads that asked for a hand-off to aiosqlite's thread, from now on."""
    db = store.db
    handed: list[int] = []
    real = db._execute

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        handed.append(threading.get_ident())
        return await real(fn, *args, **kwargs)

    db._execute = counted  # type: ignore[method-assign]
    return handed


async def test_a_small_sqlite_flush_is_stored_on_the_loops_thread(tmp_path: Path) -> None:
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await store.open()
    try:
        runs = [_run() for _ in range(3)]
        handed = _count_hand_offs(store)
        events = [_ev(r.run_id, s) for r in runs for s in (1, 2)]
        assert await store.store_batch(runs, events, {r.run_id: 1 for r in runs}) == set()
        assert handed == []  # no hand-off
        # Committed: another connection to the file reads it.
        other = sqlite3.connect(tmp_path / "runs.sqlite3")
        try:
            assert other.execute("SELECT count(*) FROM runs").fetchone()[0] == 3
            assert other.execute("SELECT count(*) FROM events").fetchone()[0] == 6
        finally:
            other.close()
        # A stale epoch is still refused there.
        assert await store.claim(runs[0].run_id, "b", 30) is not None
        late = [_ev(runs[0].run_id, 3), _ev(runs[1].run_id, 3)]
        epochs = {runs[0].run_id: 1, runs[1].run_id: 1}
        assert await store.store_batch([], late, epochs) == {runs[0].run_id}
        assert [e.seq for e in await store.events_after(runs[1].run_id)] == [1, 2, 3]
        assert [e.seq for e in await store.events_after(runs[0].run_id)] == [1, 2]
    finally:
        await store.close()


async def test_a_large_sqlite_flush_and_a_checkpoint_go_to_aiosqlites_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await store.open()
    try:
        handed = _count_hand_offs(store)
        run = _run()
        many = [_ev(run.run_id, s, "message") for s in range(1, sqlite_store.INLINE_EVENTS + 2)]
        assert await store.store_batch([run], many, {run.run_id: 1}) == set()
        assert len(handed) == 1
        assert len(await store.events_after(run.run_id)) == len(many)
        rows = [_run() for _ in range(sqlite_store.INLINE_ROWS + 1)]
        before = len(handed)
        assert await store.store_batch(rows, [], {}) == set()
        assert len(handed) == before + 1
        monkeypatch.setattr(sqlite_store, "CHECKPOINT_EVERY", 1)
        monkeypatch.setattr(sqlite_store, "LOCKED_EVERY", 1)  # the one under the lock
        assert await store.store_batch([_run()], [], {}) == set()
        assert len(handed) == before + 2
    finally:
        await store.close()


@pytest.fixture
def pg_database() -> Iterator[str]:
    with scratch_database("mesh_costs9") as url:
        yield url


@pytest.fixture
async def pg_store(pg_database: str) -> AsyncIterator[PostgresRunStore]:
    store = PostgresRunStore(pg_database)
    await store.open()
    yield store
    await store.close()


def test_the_postgres_rows_statement_numbers_every_value_once() -> None:
    width = len(COLUMNS.split(", "))
    sql = save_runs_sql(4)
    assert "%s" not in sql
    assert [f"${k}" in sql for k in (1, 4 * width)] == [True, True]
    assert f"${4 * width + 1}" not in sql
    assert sql.count("$") == 4 * width
    assert save_runs_sql(4) is sql  # made once per number of rows


async def test_a_postgres_flush_of_many_runs_saves_each_and_refuses_the_stale(
    pg_store: PostgresRunStore,
) -> None:
    runs = [_run() for _ in range(6)]  # 90 parameters: past psycopg's cached parses
    assert await pg_store.store_batch(runs, [], {}) == set()
    assert await pg_store.claim(runs[2].run_id, "b", 30) is not None  # epoch 2 is b's
    ended = [
        r.model_copy(update={"status": "completed", "answer": f"a{i}", "last_seq": i + 1})
        for i, r in enumerate(runs)
    ]
    events = [_ev(r.run_id, 1) for r in runs]
    epochs = {r.run_id: 1 for r in runs}
    assert await pg_store.store_batch(ended, events, epochs) == {runs[2].run_id}
    for i, r in enumerate(runs):
        got = await pg_store.get_run(r.run_id)
        assert got is not None
        if i == 2:
            assert (got.status, got.answer, got.epoch) == ("running", None, 2)
            assert await pg_store.events_after(r.run_id) == []
        else:
            assert (got.status, got.answer, got.last_seq) == ("completed", f"a{i}", i + 1)
            assert [e.seq for e in await pg_store.events_after(r.run_id)] == [1]


def test_a_run_rows_json_reads_back_as_before() -> None:
    plan = [{"task_id": "t", "input": {"text": "ünï", "n": 2**40, "x": 1.5}, "error": None}]
    options = {"client_plan": True, "budget": {"wall_s": 3.0}, "note": None}
    run = _run(plan=plan, options=options)
    row = run_row(run)
    assert json.loads(row[5]) == plan and json.loads(row[8]) == options
    assert row[5] == json.dumps(plan, separators=(",", ":"), ensure_ascii=False)  # orjson's
    back = run_from_row(row)
    assert back.plan == plan and back.options == options
    # What orjson does not take: json.dumps' text, as before.
    keyed = _run(options={"big": 2**70, "nested": [{"x": 1}]})
    assert run_row(keyed)[8] == json.dumps(keyed.options)
    assert run_from_row(run_row(keyed)).options == keyed.options
    # A NaN is written as JSON's null (json.dumps wrote NaN, which is not JSON); none gets
    # in: the API refuses it in the options, and a plan's JSON-mode dump has it as None.
    odd = _run(options={"nan": math.nan, "none": None})
    assert json.loads(run_row(odd)[8]) == {"nan": None, "none": None}
    body = '{"query": "q", "options": {"budget": {"wall_s": NaN}}}'
    with pytest.raises(ValueError):
        OrchestrateRequest.model_validate_json(body)


def _uncached(model: IntentModel, texts: list[str]) -> Any:
    out = np.empty((len(texts), model.bias.shape[0]), dtype=np.float32)
    for i, text in enumerate(texts):
        rows = model.weights[features(text)]
        known = max(1, int(np.count_nonzero(np.any(rows != 0, axis=1))))
        out[i] = rows.sum(axis=0) / np.sqrt(known) + model.bias
    return out


def test_the_intent_models_logits_are_kept_per_text_and_equal_the_computed() -> None:
    shared = intent_model.shared()
    model = IntentModel(shared.weights, shared.bias, shared.openers)
    texts = [
        "Write a short poem about the sea.",
        "then summarize it",
        "Write a short poem about the sea.",
    ]
    first = model.logits(texts)
    assert np.array_equal(first, _uncached(model, texts))
    assert len(model._rows) == 2
    first[:] = 0  # a caller's array is its own
    again = model.logits(texts)
    assert np.array_equal(again, _uncached(model, texts))
    assert np.array_equal(model.probabilities(texts)[0], model.probabilities(texts[:1])[0])
    # Another model (other weights) computes its own.
    other = IntentModel(shared.weights * 2, shared.bias, shared.openers)
    assert np.array_equal(other.logits(texts), _uncached(other, texts))
    assert not np.array_equal(other.logits(texts), again)


def test_the_intent_models_kept_logits_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    shared = intent_model.shared()
    model = IntentModel(shared.weights, shared.bias, shared.openers)
    monkeypatch.setattr(intent_model, "CACHED_TEXTS", 3)
    texts = [f"write poem number {i}" for i in range(7)]
    for text in texts:
        model.logits([text])
        assert len(model._rows) <= 3
    assert np.array_equal(model.logits(texts), _uncached(model, texts))


def _weather_manifest(healthy: int = 1) -> Any:
    from intent_cases import agent

    from mesh_contracts import manifest_of

    text = {"prompt": {"type": "string"}}
    weather = agent("meteo", ["weather_forecast"], text, "Weather forecasts: temperature and rain.")
    tides = agent("tides", ["tide_tables"], text, "Tide tables: high and low water for a harbour.")
    manifest = manifest_of([agent("writer", ["text_generation"], text), weather, tides], index=1)
    return manifest


def test_a_manifests_capability_index_is_made_once_and_anew_for_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mesh_orchestrator.planning import deterministic
    from mesh_orchestrator.planning.intent import IntentPlanner

    made: list[Any] = []
    real = deterministic._Index

    def counted(manifest: Any) -> Any:
        made.append(manifest)
        return real(manifest)

    monkeypatch.setattr(deterministic, "_Index", counted)
    planner = IntentPlanner()
    manifest = _weather_manifest()
    first = planner.plan_sync("weather forecast for Lyon tomorrow", manifest)
    second = planner.plan_sync("tide tables for Brest", manifest)
    assert [t.capability for t in first.tasks] == ["weather_forecast"]
    assert [t.capability for t in second.tasks] == ["tide_tables"]
    assert made == [manifest]  # once for the manifest, not per request
    # Another manifest (the registry changed: here the weather agent is gone) gets its own.
    sick = manifest.model_copy(deep=True)
    for cap in sick.capabilities:
        for a in cap.agents:
            if cap.name == "weather_forecast":
                a.healthy_instances = 0
    third = planner.plan_sync("tide tables for Brest, then the weather forecast", sick)
    assert len(made) == 2 and made[1] is sick
    assert "weather_forecast" not in [t.capability for t in third.tasks]


def test_the_projection_makes_anew_only_the_node_an_event_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mesh_contracts import ExecutionPlan, PlanNode
    from mesh_orchestrator.graph.nodes import _chosen
    from mesh_orchestrator.runs.projection import RunProjection

    plan = ExecutionPlan.model_validate(
        {
            "tasks": [
                {"task_id": t, "capability": "text_generation", "input": {"prompt": t}}
                for t in ("a", "b", "c")
            ]
        }
    )
    record = _run()
    projection = RunProjection(record)
    dumped: list[str] = []
    real = PlanNode.model_dump

    def counted(self: PlanNode, *args: Any, **kwargs: Any) -> Any:
        dumped.append(self.task_id)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(PlanNode, "model_dump", counted)
    projection.apply("plan", _chosen(plan, "client", "").data(), None, 1.0)
    assert dumped == ["a", "b", "c"]
    before = record.plan
    assert before is not None
    running = {"status": "running", "agent_id": "w", "instance_id": "w-1"}
    steps: list[tuple[str, dict[str, Any], str]] = [
        ("status", running, "b"),
        ("result", {"output": {"text": "done"}}, "b"),
        ("status", {"status": "completed"}, "b"),
        ("status", {"status": "retrying"}, "a"),
        ("error", {"error": "boom"}, "c"),
    ]
    for type_, data, task_id in steps:
        dumped.clear()
        held = list(record.plan or [])
        assert projection.apply(type_, data, task_id, 2.0)
        assert dumped == []  # the node's dict is changed as a dict: no model dumped
        now = record.plan or []
        changed = [n["task_id"] for n, old in zip(now, held, strict=True) if n is not old]
        assert changed == [task_id]  # that node's dict only is new; the others are shared
        monkeypatch.setattr(PlanNode, "model_dump", real)
        expected = [n.model_dump(mode="json") for n in projection.nodes.values()]
        monkeypatch.setattr(PlanNode, "model_dump", counted)
        assert record.plan == expected  # in the plan's order, every node as it is now
    assert before[1]["status"] == "pending"  # a list handed out earlier is kept as it was
    assert record.plan is not None
    assert [n["status"] for n in record.plan] == ["pending", "completed", "pending"]
    assert record.plan[1]["output"] == {"text": "done"} and record.plan[2]["error"] == "boom"
