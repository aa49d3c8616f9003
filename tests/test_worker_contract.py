"""The worker contract suite (``mesh_testkit.conformance``) on every mesh worker, as a process.

Each worker runs once (a class-scoped fixture per parameter) as ``python -m <module>`` on a
free loopback port with registration off (``WORKER_DISCOVERY_URL=""``); all of them are
launched together at the start (``launched``), so their loads overlap. A worker whose package
is not installed is skipped, with the reason. To add a worker, add a ``WorkerCase``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mesh_contracts import ResultEvent, StreamingMode
from mesh_testkit import ServiceProcess, free_port
from mesh_testkit.conformance.worker_contract import WorkerContract, WorkerUnderTest, stream


@dataclass(frozen=True)
class WorkerCase:
    """One worker under contract: how to start it and what it must accept and refuse."""

    module: str
    mode: StreamingMode
    valid: dict[str, Any]
    invalid: dict[str, Any]
    env: Callable[[Path], dict[str, str]] = field(default=lambda tmp: {})
    # from the launch, with every worker loading side by side
    startup_timeout: float = 180.0


CASES = [
    WorkerCase(
        "mesh_worker_writer",
        StreamingMode.DYNAMIC_EVENTS,
        # The contract needs an answer, not a long one: two tokens. One torch thread: two
        # wait on each other at every operation while the other workers load beside it.
        valid={"prompt": "Say hello.", "max_tokens": 2},
        invalid={"prompt": "Say hello.", "max_tokens": 0},
        env=lambda tmp: {"WRITER_ADAPTERS_DIR": str(tmp / "adapters"), "WRITER_THREADS": "1"},
        startup_timeout=300.0,
    ),
    WorkerCase(
        "mesh_worker_analyst",
        StreamingMode.DYNAMIC_MESSAGES,
        valid={"data": "a,b\n1,2\n3,4"},
        invalid={"data": "a,b\n1,2\n3,4", "max_rows": 0},
    ),
    WorkerCase(
        "mesh_worker_lookup",
        StreamingMode.STATIC,
        valid={"query": "what is the agent mesh?"},
        invalid={"query": ""},
    ),
    WorkerCase(
        "mesh_worker_image_gen",
        StreamingMode.DYNAMIC_EVENTS,
        valid={"prompt": "a red square", "steps": 2, "width": 32, "height": 32, "seed": 1},
        invalid={"prompt": "a red square", "steps": 0},
        env=lambda tmp: {"IMAGEGEN_OUTPUT_DIR": str(tmp / "images")},
        startup_timeout=240.0,
    ),
    WorkerCase(
        "mesh_worker_lora_trainer",
        StreamingMode.DYNAMIC_EVENTS,
        valid={
            "examples": ["hello world", "good morning"],
            "steps": 2,
            "batch_size": 2,
            "max_length": 16,
        },
        invalid={"examples": ["hello world"], "steps": 0},
        env=lambda tmp: {"LORA_BASE_MODEL": "tiny", "LORA_ADAPTERS_DIR": str(tmp / "adapters")},
        startup_timeout=240.0,
    ),
]


@pytest.fixture(scope="module")
def launched(
    tmp_path_factory: pytest.TempPathFactory,
    writer_model_once: Callable[[], AbstractContextManager[bool]],
) -> Iterator[dict[str, ServiceProcess]]:
    """Every installed worker's process, launched side by side at once (their imports and
    model loads overlap) and stopped at the end; each class waits for its own worker (the
    writer here when it is the machine's first, converting its model: root conftest.py)."""
    procs: dict[str, ServiceProcess] = {}
    try:
        for case in CASES:
            if importlib.util.find_spec(case.module) is None:
                continue
            tmp = tmp_path_factory.mktemp(case.module)
            port = free_port()
            env = {"WORKER_PORT": str(port), "WORKER_DISCOVERY_URL": "", **case.env(tmp)}
            svc = ServiceProcess(case.module, port, env, startup_timeout=case.startup_timeout)
            once = writer_model_once() if case.module == "mesh_worker_writer" else nullcontext()
            with once as converting:
                procs[case.module] = svc.launch()
                if converting:
                    svc.wait_ready()
        yield procs
    finally:
        for svc in procs.values():
            svc.stop()


class TestMeshWorkers(WorkerContract):
    @pytest.fixture(
        scope="class", params=CASES, ids=lambda c: c.module.removeprefix("mesh_worker_")
    )
    @classmethod
    def worker(
        cls, request: pytest.FixtureRequest, launched: dict[str, ServiceProcess]
    ) -> Iterator[WorkerUnderTest]:
        case: WorkerCase = request.param
        if case.module not in launched:
            pytest.skip(f"{case.module} is not installed (pip install -e services/workers/<name>)")
        svc = launched[case.module]
        try:
            svc.wait_ready()
            yield WorkerUnderTest(svc.url, case.mode, case.valid, case.invalid)
        finally:
            svc.stop()

    def test_every_mesh_worker_reports_generated_tokens_and_gpu_seconds(
        self, worker: WorkerUnderTest
    ) -> None:
        """The same fields from every worker of the mesh (0 where it generates no text or
        holds no GPU), so a run's budget counts each of them the same way."""
        _, events = stream(worker.url, {"task_id": "contract-usage", "input": worker.valid})
        [result] = [e for e in events if isinstance(e, ResultEvent)]
        assert result.usage is not None, "no usage in the final result"
        assert result.usage.completion_tokens is not None and result.usage.gpu_s is not None
        assert result.usage.gpu_s == 0.0  # every worker runs on the CPU here
        assert result.usage.wall_s is not None and result.usage.wall_s >= 0  # ms, rounded


def test_every_listed_worker_is_under_the_contract() -> None:
    """Each worker of services/workers/workers.txt has a case here, or its own tests run the
    contract suite (as ``mesh new-worker`` writes them)."""
    from mesh_cli.scaffold import read_workers

    root = Path(__file__).resolve().parents[1]
    here = {case.module for case in CASES}
    for worker in read_workers(root):
        own = root / worker.path / "tests"
        runs_it = any("WorkerContract" in p.read_text() for p in own.glob("test_*.py"))
        assert worker.module in here or runs_it, f"{worker.name}: add a WorkerCase"
