"""A worker with a mesh secret: only an orchestrator token makes it work; it registers with
its own agent token; exposed without a secret it refuses to start."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from mesh_auth import AuthSettings, Keys
from mesh_contracts import AgentDescriptor, StreamingMode, TaskRequest, TokenEvent
from mesh_testkit import free_port, wait_until
from mesh_worker import Emit, Worker, WorkerSettings, create_worker_app
from mesh_worker.testing import serving

SECRET = "w" * 48
KEYS = Keys(SECRET.encode())
HERE = Path(__file__).parent
DEADLINE = 10.0


class EchoWorker(Worker[TaskRequest]):
    Input = TaskRequest

    def __init__(self) -> None:
        self.runs = 0
        self.on_run: Any = lambda owner: None

    def describe(self) -> AgentDescriptor:
        return self.descriptor(
            agent_id="fake-echo",
            capabilities=["search"],
            streaming_mode=StreamingMode.DYNAMIC_EVENTS,
        )

    async def run(self, task: TaskRequest, inp: TaskRequest, emit: Emit) -> Any:
        self.runs += 1
        self.on_run(task.owner)
        await emit(TokenEvent(token="hi"))
        return "done"


def bearer(scope: str, audience: list[str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS.issue(scope, 60, audience=audience)}"}


TASK = {"task_id": "t1", "input": {}}


@pytest.fixture
def worker() -> Iterator[tuple[EchoWorker, str]]:
    w = EchoWorker()
    settings = WorkerSettings(discovery_url="", instance_id="fake-echo-1")
    with serving(
        create_worker_app(w, settings, auth=AuthSettings(auth_secret=SecretStr(SECRET)))
    ) as url:
        yield w, url


@pytest.mark.parametrize("path", ["/invoke", "/stream"])
def test_only_an_orchestrator_token_makes_a_worker_work(worker, path: str) -> None:
    w, url = worker
    anon = httpx.post(url + path, json=TASK)
    assert anon.status_code == 401 and anon.json()["error"] == "missing_token"
    assert anon.headers["www-authenticate"].startswith("Bearer")
    wrong = httpx.post(url + path, json=TASK, headers=bearer("client:alice"))
    assert wrong.status_code == 403 and wrong.json()["error"] == "insufficient_scope"
    agent = httpx.post(url + path, json=TASK, headers=bearer("agent:fake-echo"))
    assert agent.status_code == 401  # an agent token is for discovery, not the workers
    detail = "token is not for this service (workers or worker:fake-echo)"
    assert agent.json()["detail"] == detail
    # The orchestrator's token for another worker (what that worker was called with).
    other = bearer("orchestrator", audience=["worker:writer"])
    assert httpx.post(url + path, json=TASK, headers=other).status_code == 401
    assert w.runs == 0
    ok = httpx.post(url + path, json=TASK, headers=bearer("orchestrator"))
    assert ok.status_code == 200 and w.runs == 1
    mine = bearer("orchestrator", audience=["worker:fake-echo"])
    assert httpx.post(url + path, json=TASK, headers=mine).status_code == 200 and w.runs == 2


def test_health_and_descriptor_stay_open_for_probes(worker) -> None:
    _, url = worker
    assert httpx.get(url + "/health").status_code == 200
    assert httpx.get(url + "/descriptor").status_code == 200


def test_an_oversized_task_is_a_413_and_never_runs(worker) -> None:
    w, url = worker
    app_limit = 16 << 20
    body = b'{"task_id": "t1", "input": {"x": "' + b"x" * app_limit + b'"}}'
    r = httpx.post(
        url + "/invoke",
        content=body,
        headers={**bearer("orchestrator"), "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["error"] == "body_too_large"
    assert w.runs == 0


def test_a_worker_registers_with_its_own_agent_token(tmp_path: Path) -> None:
    from mesh_discovery.app import create_app
    from mesh_discovery.settings import Settings

    with serving(create_app(Settings(db_path=tmp_path / "r.sqlite3"), keys=KEYS)) as discovery:
        settings = WorkerSettings(
            discovery_url=discovery, instance_id="fake-echo-1", lease_ttl_seconds=1.5
        )
        app = create_worker_app(
            EchoWorker(), settings, auth=AuthSettings(auth_secret=SecretStr(SECRET))
        )
        record = f"{discovery}/v1/agents/fake-echo-1"
        with serving(app):
            body = wait_until(
                lambda: (
                    (r := httpx.get(record, headers=bearer("admin"))).status_code == 200
                    and r.json()
                ),
                timeout=DEADLINE,
            )
            assert body["descriptor"]["agent_id"] == "fake-echo"
            assert httpx.get(record).status_code == 401  # reads need a token too
        assert httpx.get(record, headers=bearer("admin")).status_code == 404  # deregistered


def test_a_worker_exposed_without_a_secret_refuses_to_start() -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "WORKER_HOST": "0.0.0.0",
        "WORKER_PORT": str(free_port()),
        "WORKER_DISCOVERY_URL": "",
        "FAKE_SHUTDOWN_MARKER": "/dev/null",
    }
    done = subprocess.run(
        [sys.executable, "-m", "fake_sdk_worker"],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "refusing to listen on 0.0.0.0 without public keys" in done.stderr
    assert "MESH_AUTH_JWKS_FILE" in done.stderr


def test_a_worker_with_public_keys_but_no_agent_token_refuses_to_start(tmp_path: Path) -> None:
    from mesh_auth.keyfiles import init_keys

    init_keys(tmp_path)
    env = {
        "PATH": "/usr/bin:/bin",
        "WORKER_HOST": "0.0.0.0",
        "WORKER_PORT": str(free_port()),
        "WORKER_DISCOVERY_URL": "",
        "FAKE_SHUTDOWN_MARKER": "/dev/null",
        "MESH_AUTH_JWKS_FILE": str(tmp_path / "jwks.json"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "fake_sdk_worker"],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "auth is on but this service has no token to send" in done.stderr


def test_the_task_owner_is_the_runs_owner_only_when_the_orchestrator_names_it(worker) -> None:
    w, url = worker
    seen: list[str | None] = []
    w.on_run = seen.append
    calls = [
        ("orchestrator", "client:alice"),
        ("orchestrator", None),
        ("admin", None),
        ("admin", "client:bob"),
    ]
    for scope, owner in calls:
        r = httpx.post(url + "/invoke", json={**TASK, "owner": owner}, headers=bearer(scope))
        assert r.status_code == 200
    assert seen == ["client:alice", "orchestrator", "admin", "client:bob"]
