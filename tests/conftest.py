"""Fixtures shared by the root end-to-end modules.

``model_mesh`` is one mesh with every worker (the writer's real local model included) for
the session: ``test_e2e_orchestrator`` and ``test_e2e_threads`` run on it instead of each
starting its own (the writer's model alone takes tens of seconds to load). Neither stops or
reconfigures a process, and each test makes its own runs and threads.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack

import pytest

from mesh_testkit.mesh import ProcessMesh, process_mesh

MODEL_WORKERS = {
    "lookup": "mesh_worker_lookup",
    "analyst": "mesh_worker_analyst",
    "writer": "mesh_worker_writer",
    "image-gen": "mesh_worker_image_gen",
}
LLM_ORCHESTRATOR = "orchestrator-llm"


def _llm_env(mesh: ProcessMesh) -> dict[str, str]:
    # A second orchestrator on the same registry, planning and synthesizing with the real
    # local model through the writer's OpenAI-compatible API.
    env = {
        # A one-lookup plan is ~25-50 tokens; the default cap (400) only lets a rambling
        # answer run on, twice with the retry, before it is refused. The writer steers the
        # JSON closed in the last quarter of the cap, so a plan still fits and either outcome
        # (accepted, or refused and the no-LLM plan used) stays possible, as the test expects.
        "ORCH_LLM_PLAN_MAX_TOKENS": "160",
        "ORCH_LLM_SYNTHESIS_MAX_TOKENS": "24",
        "ORCH_LLM_TIMEOUT_SECONDS": "120",
        # The default (auto) does not plan with the embedded 135M model: it measured
        # worse than the intent planner (bench/planning). This orchestrator is about the LLM.
        "ORCH_PLANNER": "llm",
        # Likewise the synthesis (auto: the deterministic merge measured better).
        "ORCH_SYNTHESIS": "llm",
    }
    if "writer" in mesh.workers:
        env["ORCH_LLM_BASE_URL"] = mesh.workers["writer"].url + "/v1"
    return env


@pytest.fixture(scope="session")
def model_mesh(
    tmp_path_factory: pytest.TempPathFactory,
    writer_model_once: Callable[[], AbstractContextManager[bool]],
) -> Iterator[ProcessMesh]:
    """Discovery, the workers of ``MODEL_WORKERS`` whose packages are importable (a missing
    one is left out; tests that need it skip), the orchestrator, and ``LLM_ORCHESTRATOR``
    (``mesh.orchestrators``), which plans and synthesizes with the writer's model."""
    tmp = tmp_path_factory.mktemp("e2e-models")
    present = {n: m for n, m in MODEL_WORKERS.items() if importlib.util.find_spec(m) is not None}
    worker_env = {
        "WRITER_MAX_NEW_TOKENS": "12",
        "WRITER_THREADS": "1",
        "IMAGEGEN_OUTPUT_DIR": str(tmp / "images"),
    }
    with ExitStack() as stack:
        with writer_model_once():  # held while the mesh starts when its writer converts
            mesh = process_mesh(
                tmp, present, worker_env=worker_env, more_orchestrators={LLM_ORCHESTRATOR: _llm_env}
            )
            m = stack.enter_context(mesh)
        yield m
