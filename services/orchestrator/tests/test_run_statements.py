"""The statements a run makes on Postgres: a planned run makes those of a pinned one.

Issue 22 (round 9, bench/README.md "Round 9: cheaper runs"): a quiet ``make bench`` read a
planned run ~0.9 ms dearer than a pinned one on Postgres and ~0.47 ms on SQLite, as if a
planned run cost the Postgres store more. It does not: each run, alone, makes its admission
(one ``INSERT``) and, at its end, one flush (its row, its events, the notify); planning
adds no statement and no round trip. A change that made a planned run write its row or
its plan event apart (a flush at the ``plan`` event, a ``save_run``) fails here.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from orch_fakes import writer_like

from mesh_testkit.postgres import PG_ADMIN, postgres_answers, scratch_database

pytestmark = pytest.mark.skipif(not postgres_answers(), reason=f"no Postgres at {PG_ADMIN}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    with scratch_database("mesh_stmts") as url:
        yield url


async def _stream(c: httpx.AsyncClient, url: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of one ``POST /orchestrate/stream`` (what ``bench.runs`` reads), to its end."""
    out: list[dict[str, Any]] = []
    async with c.stream("POST", url + "/orchestrate/stream", json=body) as r:
        assert r.status_code == 200
        async for line in r.aiter_lines():
            if line.startswith("data:"):
                out.append(json.loads(line[5:]))
    return out


def _mentions(params: Any, run_id: str) -> bool:
    """``run_id`` among a statement's parameters (a row, rows, a notify's payload)."""
    if isinstance(params, str):
        return run_id in params
    if isinstance(params, list | tuple):
        return any(_mentions(p, run_id) for p in params)
    return False


def _recording(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every statement psycopg runs from now on: (its first words, its parameters)."""
    seen: list[tuple[str, Any]] = []
    execute, executemany = psycopg.AsyncCursor.execute, psycopg.AsyncCursor.executemany

    def words(query: Any) -> str:
        text = query if isinstance(query, str) else str(query)
        return " ".join(text.split()[:4])

    async def recorded(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        seen.append((words(query), params))
        return await execute(self, query, params, **kw)

    async def recorded_many(self: Any, query: Any, params_seq: Any, **kw: Any) -> Any:
        rows = list(params_seq)
        seen.append(("many " + words(query), rows))
        return await executemany(self, query, rows, **kw)

    monkeypatch.setattr(psycopg.AsyncCursor, "execute", recorded)
    monkeypatch.setattr(psycopg.AsyncCursor, "executemany", recorded_many)
    return seen


async def test_a_planned_run_makes_no_statement_a_pinned_run_does_not(
    pg_url: str, mesh_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A flush only when one is asked for (a run's end wakes the flusher): one a run.
    mesh = await mesh_factory(database_url=pg_url, flush_interval_seconds=30.0)
    await mesh.register(writer_like(mesh.workers[0].url))
    seen = _recording(monkeypatch)
    task = {"task_id": "t1", "capability": "text_generation", "agent_id": "fakewriter",
            "input": {"prompt": "a poem about the sea"}}  # fmt: skip
    made: dict[str, list[str]] = {}
    async with httpx.AsyncClient(timeout=30) as c:
        for kind, body in (
            ("pinned", {"plan": {"tasks": [task]}}),
            ("planned", {"query": "write a poem about the sea"}),
        ):
            start = len(seen)
            events = await _stream(c, mesh.url, body)
            assert events[-1]["type"] == "done", events[-1]
            assert events[-1]["data"]["status"] == "completed"
            run_id = events[-1]["run_id"]
            ended = "SELECT pg_notify(%s, %s)"  # the end's flush: its last statement
            async with asyncio.timeout(10):
                while not any(q == ended and _mentions(p, run_id) for q, p in seen[start:]):  # noqa: ASYNC110 - a psycopg call, no event to wait on
                    await asyncio.sleep(0.01)
            made[kind] = sorted(q for q, p in seen[start:] if _mentions(p, run_id))
    # The admission; at the end the push configs' read (webhooks of an ended run), then one
    # flush: its row, its events (one statement), the notify.
    assert made["pinned"] == sorted(
        ["INSERT INTO mesh_runs (run_id,", "SELECT task_id, config_id, owner,",
         "INSERT INTO mesh_runs (run_id,", "INSERT INTO mesh_run_events SELECT",
         "SELECT pg_notify(%s, %s)"]
    ), made["pinned"]  # fmt: skip
    assert made["planned"] == made["pinned"]
