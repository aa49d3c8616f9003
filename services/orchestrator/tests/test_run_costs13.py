"""Round 13's cuts of a run's CPU (bench/README.md, "Round 13: CPU per run"), each held to
what it replaced: the budget's use summed until a scrape reads the same counters; ``last_seq``
written to the record's dict sets what pydantic's ``__setattr__`` set; an admission takes
the store's lock when another holds it, and only then; the frame template is the one the
generator made."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from mesh_contracts import json_frame_template
from mesh_orchestrator.metrics import CallMetrics
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.store import RunRecord, SQLiteRunStore
from mesh_orchestrator.runs.store.base import NO_LIMIT


def _samples(registry: CollectorRegistry, prefix: str) -> dict[str, float]:
    out = {}
    for line in generate_latest(registry).decode().splitlines():
        if line.startswith(prefix) and "_created" not in line:
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


USES = [
    {"max_tasks": 1, "wall_s": 0.004, "tokens": 16, "gpu_s": 0.0},
    {"max_tasks": 3, "wall_s": 1.25, "tokens": 0, "gpu_s": 2.5},
    {"max_tasks": 2, "wall_s": 0.5, "tokens": 7, "gpu_s": 0.0},
]


def test_summed_budget_use_reads_what_an_increment_a_run_read() -> None:
    registry = CollectorRegistry()
    metrics = CallMetrics(registry)
    reference = CollectorRegistry()
    used = Counter("mesh_run_budget_used", "", ["kind"], registry=reference)
    # A scrape between runs, then more runs: each scrape reads every run before it.
    for i, use in enumerate(USES):
        metrics.budget_ended(use, "tokens" if i == 1 else None)
        for kind, amount in use.items():
            used.labels(kind).inc(amount)
        if i != 1:
            got = _samples(registry, "mesh_run_budget_used_total")
            want = _samples(reference, "mesh_run_budget_used_total")
            assert got == pytest.approx(want) and set(got) == set(want)
    assert registry.get_sample_value("mesh_run_budget_used_total", {"kind": "max_tasks"}) == 6.0
    assert registry.get_sample_value("mesh_runs_budget_exhausted_total", {"bound": "tokens"}) == 1
    assert _samples(registry, "mesh_run_budget_used_total") == _samples(  # read twice: same
        registry, "mesh_run_budget_used_total"
    )


def test_a_negative_budget_use_is_refused_as_the_counter_refuses_it() -> None:
    metrics = CallMetrics(CollectorRegistry())
    with pytest.raises(ValueError):
        metrics.budget_ended({"max_tasks": 1, "wall_s": -0.5}, None)


@pytest.fixture
async def mux(tmp_path: Path) -> AsyncIterator[EventMux]:
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await store.open()
    yield EventMux(store, interval=3600)
    await store.close()


async def test_publish_sets_last_seq_as_pydantic_sets_it(mux: EventMux) -> None:
    # A record whose fields-set does not name ``last_seq`` (made with its default).
    record = RunRecord(run_id="r1", query="q", created_at=time.time())
    assert "last_seq" not in record.model_fields_set
    mux.open(record)
    assert "last_seq" in record.model_fields_set and record.last_seq == 0
    mux.publish("r1", "status", {"phase": "x"})
    mux.publish_many("r1", [("status", {"a": 1}), ("status", {"b": 2})])
    assert record.last_seq == 3 and record.model_dump()["last_seq"] == 3
    assert record.model_dump(exclude_unset=True)["last_seq"] == 3
    assert mux.record("r1") is record
    await mux.flush()
    stored = await mux.store.get_run("r1")
    assert stored is not None and stored.last_seq == 3


def _run() -> RunRecord:
    return RunRecord(run_id=uuid.uuid4().hex, query="q", created_at=time.time())


async def test_an_admission_waits_for_the_lock_only_while_another_holds_it(
    tmp_path: Path,
) -> None:
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await store.open()
    try:
        free = _run()
        assert await store.admit(free, NO_LIMIT)  # the lock free: admitted at once
        assert not store.lock.locked()
        held = _run()
        async with store.lock:  # another statement sequence holds the connection
            admitting = asyncio.ensure_future(store.admit(held, NO_LIMIT))
            for _ in range(5):
                await asyncio.sleep(0)
            assert not admitting.done()  # it waits
        assert await admitting
        for run in (free, held):
            got = await store.get_run(run.run_id)
            assert got is not None and got.run_id == run.run_id
        with pytest.raises(sqlite3.IntegrityError):  # a duplicate id raises, as before
            await store.admit(free, NO_LIMIT)
        assert not store.lock.locked()
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("head", "mid", "tail"),
    [
        (b'{"run_id":"r","seq":', b',"type":"token","data":', b',"ts":1.5}'),
        (b'{"run_id":"50%","seq":', b',"task_id":"%d%s","data":', b',"ts":"%%"}'),
        (b"", b"", b""),
    ],
)
def test_the_frame_template_is_the_generators(head: bytes, mid: bytes, tail: bytes) -> None:
    h, m, t = (b.replace(b"%", b"%%") for b in (head, mid, tail))
    assert json_frame_template(head, mid, tail) == (
        b"id: %d\ndata: " + h + b"%d" + m + b"%b" + t + b"\n\n"
    )
    assert json_frame_template(head, mid, tail) % (7, 7, b"{}") == (
        b"id: 7\ndata: " + head + b"7" + mid + b"{}" + tail + b"\n\n"
    )
