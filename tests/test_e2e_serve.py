"""End to end on real processes: what the mesh cannot serve reaches the user as an honest
answer (issue 18, item 6), never a failed run with no plan.

On the session's mesh (``model_mesh`` in conftest.py: discovery, the workers, the orchestrator
with the no-LLM intent planner, the writer a real small model):

* a request no agent serves completes with the decline: which parts nobody serves, and what
  the mesh can do, and no task runs;
* a partly-servable request plans and runs the servable part, and both its plan and its answer
  name the part left out;
* "Hallo!" is answered by the writer.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from mesh_testkit import read_sse
from mesh_testkit.mesh import ProcessMesh


async def _stream(mesh: ProcessMesh, query: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(400), httpx.AsyncClient(timeout=60) as c:
        url = mesh.url + "/orchestrate/stream"
        async for msg in read_sse(c, "POST", url, json={"query": query}):
            out.append(msg.json())
            if out[-1]["type"] == "done":
                break
    return out


def _need(mesh: ProcessMesh, *names: str) -> None:
    missing = [n for n in names if n not in mesh.workers]
    if missing:
        pytest.skip(f"worker packages not importable yet: {', '.join(missing)}")


def _answer(events: list[dict[str, Any]]) -> dict[str, Any]:
    results = [e["data"] for e in events if e["type"] == "result" and not e.get("task_id")]
    assert len(results) == 1, events
    return results[0]


async def test_a_request_no_agent_serves_completes_with_an_honest_answer(
    model_mesh: ProcessMesh,
) -> None:
    _need(model_mesh, "writer")
    events = await _stream(
        model_mesh, "Mach bitte das Licht im Flur aus und stell den Wecker auf 6 Uhr."
    )
    types = [e["type"] for e in events]
    assert "plan" not in types and "status" not in types  # nothing planned, nothing run
    answer = _answer(events)
    assert answer["status"] == "completed" and answer["results"] == {}
    text = answer["answer"]
    assert text.startswith("No agent in this mesh can do this:")
    assert "Licht im Flur" in text and "Wecker auf 6 Uhr" in text  # each part nobody serves
    assert "What the mesh can do:" in text and "text generation (writer)" in text
    assert events[-1]["data"]["status"] == "completed"


async def test_a_partly_servable_request_runs_its_part_and_names_the_rest(
    model_mesh: ProcessMesh,
) -> None:
    _need(model_mesh, "writer")
    events = await _stream(model_mesh, "Set an alarm for 7 am and write me a haiku about mornings.")
    plan = next(e["data"] for e in events if e["type"] == "plan")
    assert [t["capability"] for t in plan["plan"]["tasks"]] == ["text_generation"]
    assert "Set an alarm for 7 am" in plan["reason"]  # the plan says what it left out
    answer = _answer(events)
    assert answer["status"] == "completed"
    assert answer["results"]["t1"]["agent_id"] == "writer"
    # the writer's haiku first, then the part left out (the answer trims the blanks a model
    # may end its text with: "...holds its breath  \n" leads the answer as "...its breath")
    haiku = answer["results"]["t1"]["output"].strip()
    assert haiku
    assert answer["answer"].startswith(haiku)
    assert answer["answer"].endswith(
        "Left out, no agent in this mesh can do it: 'Set an alarm for 7 am' (an action in the "
        "world no agent performs)."
    )


async def test_hallo_is_answered_by_the_writer(model_mesh: ProcessMesh) -> None:
    _need(model_mesh, "writer")
    events = await _stream(model_mesh, "Hallo!")
    plan = next(e["data"] for e in events if e["type"] == "plan")
    assert [t["capability"] for t in plan["plan"]["tasks"]] == ["text_generation"]
    answer = _answer(events)
    assert answer["status"] == "completed"
    assert answer["results"]["t1"]["agent_id"] == "writer"
    assert answer["answer"] == answer["results"]["t1"]["output"]  # no note: nothing left out
    assert "Left out" not in answer["answer"]
