"""Fixtures of the fault suite: one mesh for the session, each case's own replicas.

The helpers live in ``fault_mesh`` beside this file, importable by the test modules.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fault_mesh import FaultMesh, release, start_all

from mesh_testkit import ServiceProcess


@pytest.fixture(scope="session")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultMesh]:
    m = FaultMesh(tmp_path_factory.mktemp("faults"))
    try:
        m.start()
        yield m
    finally:
        m.stop()


class Replicas:
    """A case's fault workers: ``start`` them (side by side, until the orchestrator routes
    by them); every one is stopped by PID when the case ends, however it ends."""

    def __init__(self, mesh: FaultMesh) -> None:
        self.mesh = mesh
        self.procs: list[ServiceProcess] = []

    def start(self, *procs: ServiceProcess) -> tuple[ServiceProcess, ...]:
        self.procs.extend(procs)
        start_all(procs)
        self.mesh.wait_for(procs)
        return procs


@pytest.fixture
def replicas(mesh: FaultMesh) -> Iterator[Replicas]:
    r = Replicas(mesh)
    try:
        yield r
    finally:
        release(r.procs)
