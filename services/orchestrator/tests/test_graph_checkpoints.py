"""The run graph has no checkpointer (``graph.build``): nothing reads a run's checkpoint, so
none is written. A run that completes, one parked by ``await_approval``'s ``interrupt``
(which needs no checkpointer: the graph's stream yields ``__interrupt__`` and ends) and the
same run approved all leave no checkpoint behind, and the graph compiled for drawing has
none either."""

from __future__ import annotations

import os
from pathlib import Path

from orch_fakes import writer_like
from test_orchestrator_api import wait_for
from test_orchestrator_approval import parked, post, status_of

from conftest import MeshFactory
from mesh_orchestrator.graph.build import build_graph


def test_the_graph_is_compiled_without_a_checkpointer() -> None:
    assert build_graph().checkpointer is None


async def test_runs_parked_and_approved_write_no_checkpoint(
    mesh_factory: MeshFactory, tmp_path: Path
) -> None:
    mesh = await mesh_factory()
    await mesh.register(writer_like(mesh.workers[0].url))
    run_id, events = await parked(mesh.url, {"query": "write a poem about the sea"})
    assert events[-1]["data"]["status"] == "awaiting_approval"  # interrupted, parked
    r = await post(f"{mesh.url}/v1/runs/{run_id}/approve")
    assert r.status_code == 202

    async def completed() -> bool:
        return await status_of(mesh.url, run_id) == "completed"

    await wait_for(completed, "the approved run to complete")
    # Only the run store's own files are there: no LangGraph checkpoint database.
    assert [n for n in os.listdir(tmp_path) if "checkpoint" in n] == []
