"""Self-registration against a fake discovery (and the real one when it is installed)."""

from __future__ import annotations

import importlib.util
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response

from mesh_contracts import (
    AgentDescriptor,
    HeartbeatRequest,
    InstanceLoad,
    Lease,
    RegisterRequest,
    StreamingMode,
    TaskRequest,
)
from mesh_testkit import ServiceProcess, free_port, wait_until
from mesh_worker import Emit, Worker, WorkerSettings, create_worker_app
from mesh_worker.testing import serving

DEADLINE = 10.0
HERE = Path(__file__).parent


class FakeDiscovery:
    """Discovery's registration endpoints, recording every call; ``forget`` drops everyone."""

    def __init__(self) -> None:
        self.agents: dict[str, AgentDescriptor] = {}
        self.calls: list[str] = []
        self.loads: list[InstanceLoad] = []
        self.lock = threading.Lock()
        self.app = FastAPI()
        app = self.app

        @app.post("/v1/agents")
        async def register(body: RegisterRequest) -> Lease:
            iid = body.descriptor.instance_id
            with self.lock:
                self.agents[iid] = body.descriptor
                self.calls.append(f"register {iid}")
            return Lease(instance_id=iid, ttl_seconds=body.ttl_seconds, expires_at=0, index=1)

        @app.put("/v1/agents/{iid}/heartbeat", response_model=None)
        async def heartbeat(iid: str, body: HeartbeatRequest | None = None) -> Lease | Response:
            with self.lock:
                self.calls.append(f"heartbeat {iid}")
                if body is not None and body.load is not None:
                    self.loads.append(body.load)
                if iid not in self.agents:
                    return Response('{"detail": "unknown"}', status_code=404)
            return Lease(instance_id=iid, ttl_seconds=1, expires_at=0, index=1)

        @app.delete("/v1/agents/{iid}")
        async def deregister(iid: str) -> Response:
            with self.lock:
                self.calls.append(f"deregister {iid}")
                found = self.agents.pop(iid, None)
            return Response(status_code=204 if found else 404)

    def count(self, call: str) -> int:
        with self.lock:
            return self.calls.count(call)

    def forget(self) -> None:
        with self.lock:
            self.agents.clear()


class FakeQuietWorker(Worker[TaskRequest]):
    Input = TaskRequest  # any object with optional fields will do

    def describe(self) -> AgentDescriptor:
        return self.descriptor(
            agent_id="fake-quiet",
            capabilities=["search"],
            streaming_mode=StreamingMode.DYNAMIC_MESSAGES,
        )

    async def run(self, task: TaskRequest, inp: TaskRequest, emit: Emit) -> Any:
        return "quiet"


def worker_settings(discovery: str, **kw: Any) -> WorkerSettings:
    kw.setdefault("lease_ttl_seconds", 1.5)  # heartbeats and backoff capped at 0.5 s
    return WorkerSettings(discovery_url=discovery, instance_id="fake-quiet-1", port=1234, **kw)


@pytest.fixture
def discovery() -> Iterator[tuple[FakeDiscovery, str]]:
    fake = FakeDiscovery()
    with serving(fake.app) as url:
        yield fake, url


def test_worker_registers_after_startup_and_deregisters_on_shutdown(
    discovery: tuple[FakeDiscovery, str],
) -> None:
    fake, url = discovery
    with serving(create_worker_app(FakeQuietWorker(), worker_settings(url))):
        wait_until(lambda: "fake-quiet-1" in fake.agents, timeout=DEADLINE, what="registration")
        registered = fake.agents["fake-quiet-1"]
        assert registered.endpoint == "http://127.0.0.1:1234"
        assert registered.agent_id == "fake-quiet"
    assert fake.count("deregister fake-quiet-1") == 1
    assert fake.agents == {}


def test_worker_serves_while_discovery_is_down_and_registers_once_it_appears() -> None:
    port = free_port()
    fake = FakeDiscovery()
    s = worker_settings(f"http://127.0.0.1:{port}")
    with serving(create_worker_app(FakeQuietWorker(), s)) as worker:
        assert httpx.get(worker + "/health").status_code == 200
        with serving(fake.app, port):
            wait_until(lambda: "fake-quiet-1" in fake.agents, timeout=DEADLINE, what="retry")


def test_worker_heartbeats_within_its_lease(discovery: tuple[FakeDiscovery, str]) -> None:
    fake, url = discovery
    with serving(create_worker_app(FakeQuietWorker(), worker_settings(url))):
        wait_until(lambda: fake.count("heartbeat fake-quiet-1") >= 2, timeout=DEADLINE)
        assert fake.count("register fake-quiet-1") == 1


def test_every_heartbeat_reports_the_instance_load(discovery: tuple[FakeDiscovery, str]) -> None:
    fake, url = discovery
    with serving(create_worker_app(FakeQuietWorker(), worker_settings(url, max_concurrency=3))):
        wait_until(lambda: len(fake.loads) >= 1, timeout=DEADLINE, what="a load report")
    load = fake.loads[0]
    assert (load.slots_in_use, load.queue_depth, load.max_concurrency) == (0, 0, 3)
    assert load.reported_at is not None


def test_worker_registers_again_when_discovery_has_forgotten_it(
    discovery: tuple[FakeDiscovery, str],
) -> None:
    fake, url = discovery
    with serving(create_worker_app(FakeQuietWorker(), worker_settings(url))):
        wait_until(lambda: "fake-quiet-1" in fake.agents, timeout=DEADLINE)
        fake.forget()
        wait_until(lambda: fake.count("register fake-quiet-1") == 2, timeout=DEADLINE)
        assert "fake-quiet-1" in fake.agents


def test_an_empty_discovery_url_turns_registration_off(
    discovery: tuple[FakeDiscovery, str],
) -> None:
    fake, _ = discovery
    app = create_worker_app(FakeQuietWorker(), worker_settings(""))
    with serving(app) as worker:
        assert httpx.get(worker + "/health").status_code == 200
        assert app.state.registrar is None
    assert fake.calls == []


@pytest.mark.skipif(
    importlib.util.find_spec("mesh_discovery") is None, reason="mesh_discovery not installed"
)
def test_worker_registers_with_the_real_discovery_service(tmp_path: Path) -> None:
    from mesh_discovery.app import create_app
    from mesh_discovery.settings import Settings

    settings = Settings(db_path=tmp_path / "registry.sqlite3")
    with serving(create_app(settings)) as url:
        record = f"{url}/v1/agents/fake-quiet-1"
        with serving(create_worker_app(FakeQuietWorker(), worker_settings(url))):
            body = wait_until(
                lambda: httpx.get(record).status_code == 200 and httpx.get(record).json(),
                timeout=DEADLINE,
            )
            assert body["status"] == "passing"
            assert body["descriptor"]["streaming_mode"] == "dynamic_messages"
        assert httpx.get(record).status_code == 404


def test_serve_runs_the_lifespan_shutdown_on_sigterm(
    discovery: tuple[FakeDiscovery, str], tmp_path: Path
) -> None:
    fake, url = discovery
    marker = tmp_path / "shutdown"
    port = free_port()
    env = {
        "WORKER_PORT": str(port),
        "WORKER_DISCOVERY_URL": url,
        "WORKER_INSTANCE_ID": "fake-echo-1",
        "FAKE_SHUTDOWN_MARKER": str(marker),
    }
    proc = ServiceProcess("fake_sdk_worker", port, env, cwd=HERE).start()
    try:
        wait_until(lambda: "fake-echo-1" in fake.agents, timeout=DEADLINE)
        assert fake.agents["fake-echo-1"].endpoint == f"http://127.0.0.1:{port}"
    finally:
        code = proc.stop()
    # uvicorn re-raises the signal once shut down, so the parent sees "terminated by SIGTERM".
    assert code in (0, -signal.SIGTERM), proc.log()
    assert marker.read_text() == "shut down"
    assert fake.count("deregister fake-echo-1") == 1


def test_the_heartbeat_client_lets_a_pooled_connection_go_before_discoverys_keep_alive_ends(
    discovery: tuple[FakeDiscovery, str],
) -> None:
    """A heartbeat sent on a kept-alive connection just as discovery's uvicorn closes it reads
    ``ReadError`` (round 16's benches, where both sides kept 5 s; a worker heartbeats every
    5 s by default): the worker's pool lets it go first, as the orchestrator's pools do."""
    import uvicorn

    from mesh_auth.dialing import KEEPALIVE_EXPIRY as MESH_KEEPALIVE_EXPIRY
    from mesh_worker.registration import KEEPALIVE_EXPIRY

    assert KEEPALIVE_EXPIRY == MESH_KEEPALIVE_EXPIRY
    server = uvicorn.Config(FastAPI()).timeout_keep_alive
    fake, url = discovery
    app = create_worker_app(FakeQuietWorker(), worker_settings(url))
    with serving(app):
        wait_until(lambda: fake.count("heartbeat fake-quiet-1") >= 1, timeout=DEADLINE)
        client = app.state.registrar._client
        pool = client._transport._pool
        assert pool._keepalive_expiry == KEEPALIVE_EXPIRY < server
