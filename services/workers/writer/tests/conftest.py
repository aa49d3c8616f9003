"""One writer process for the whole test session (the model takes ~30 s to load), shared by
the service and structured-output tests.

It runs torch on one thread (``WRITER_THREADS=1``): on a busy 2-core machine (the test
process, other services, other jobs) two torch threads wait on each other at every
operation, and a token takes ten times as long; one thread keeps each token well under a
second. Nothing a test checks depends on the thread count."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from mesh_testkit import ServiceProcess, free_port


@pytest.fixture(scope="session")
def adapters_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("adapters")


@pytest.fixture(scope="session")
def writer(
    adapters_dir: Path, writer_model_once: Callable[[], AbstractContextManager[bool]]
) -> Iterator[ServiceProcess]:
    port = free_port()
    env = {
        "WORKER_PORT": str(port),
        "WORKER_DISCOVERY_URL": "",
        "WRITER_ADAPTERS_DIR": str(adapters_dir),
        "WRITER_THREADS": "1",
    }
    svc = ServiceProcess("mesh_worker_writer", port, env, startup_timeout=180)
    with writer_model_once():  # on a fresh machine, one writer of the session converts
        svc.start()
    try:
        yield svc
    finally:
        svc.stop()
