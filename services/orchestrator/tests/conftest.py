"""Fixtures of the orchestrator's tests; the fakes live in ``orch_fakes``."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from orch_fakes import Mesh, Served, fake_discovery_app, fake_worker_app, serve, stop

from mesh_orchestrator.app import create_app
from mesh_orchestrator.settings import Settings

MeshFactory = Callable[..., Awaitable[Mesh]]


@pytest.fixture
async def mesh_factory(tmp_path: Path) -> AsyncIterator[MeshFactory]:
    fakes: list[Served] = []
    orchestrators: list[Served] = []
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    async def make(**settings: Any) -> Mesh:
        disc = await serve(fake_discovery_app())
        workers = [await serve(fake_worker_app("w0")), await serve(fake_worker_app("w1"))]
        fakes.extend([disc, *workers])
        llm = settings.pop("llm", None)  # a langchain fake chat model, for the LLM graph paths
        exporter = settings.pop("span_exporter", None)  # tracing into an in-memory exporter
        s = Settings(
            discovery_url=disc.url,
            db_path=tmp_path / "orch.sqlite3",
            ping_seconds=settings.pop("ping_seconds", 5.0),
            watch_wait_seconds=1.0,
            discovery_retry_seconds=0.05,
            **settings,
        )
        orch = await serve(create_app(s, llm=llm, span_exporter=exporter))
        orchestrators.append(orch)
        return Mesh(disc, workers, orch)

    yield make
    # The orchestrators first (their lifespans end while discovery and the workers still
    # answer), then the fakes side by side, each cancelling what it still serves (a stopped
    # orchestrator's long poll of discovery) instead of waiting up to its graceful second.
    # Each uvicorn server put its own SIGTERM and SIGINT handlers in place and puts back the
    # ones it found; stopped out of order, a stopped server's would stay (and the
    # orchestrator's streams read its should_exit): those from before are put back here.
    for s in reversed(orchestrators):
        await stop(s)
    for s in fakes:
        s.server.config.timeout_graceful_shutdown = 0
    await asyncio.gather(*(stop(s) for s in fakes))
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


@pytest.fixture
async def mesh(mesh_factory: MeshFactory) -> Mesh:
    return await mesh_factory()
