"""Auth across real processes on loopback in the single-host development mode: discovery, a
lookup worker and the orchestrator all with one HS256 secret (each mints its own token);
then discovery and the orchestrator asked to listen on 0.0.0.0 without public keys, which
they refuse. The deployment mode (one issuer, public keys, mTLS) is tests/test_e2e_trust.py.

Every refusal asserts the status, the JSON error and that the registry or the run store is
as it was."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from mesh_auth import Keys
from mesh_testkit import ServiceProcess, free_port
from mesh_testkit.mesh import process_mesh

pytestmark = pytest.mark.skipif(
    any(
        importlib.util.find_spec(m) is None
        for m in ("mesh_discovery", "mesh_orchestrator", "mesh_worker_lookup")
    ),
    reason="needs discovery, the orchestrator and the lookup worker installed",
)

SECRET = "e2e-" + "s" * 44
KEYS = Keys(SECRET.encode())


def auth(scope: str) -> dict[str, str]:
    # A day: the module's tokens are made when it is imported (collection), and a whole
    # suite may reach its tests many minutes later (a fresh clone's CI took 21 minutes).
    return {"Authorization": f"Bearer {KEYS.issue(scope, 86400)}"}


ADMIN, ALICE, BOB = auth("admin"), auth("client:alice"), auth("client:bob")


@dataclass
class Mesh:
    discovery: ServiceProcess
    lookup: ServiceProcess
    orch: ServiceProcess


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    with process_mesh(
        tmp_path_factory.mktemp("auth-mesh"),
        {"lookup": ("mesh_worker_lookup", {"WORKER_INSTANCE_ID": "lookup-e2e"})},
        env={"MESH_AUTH_SECRET": SECRET},
        orchestrator_env={"ORCH_PLANNER": "deterministic"},
        headers=ADMIN,  # the lookup worker is visible once it registered with its own token
        ready_timeout=30,
    ) as m:
        yield Mesh(m.discovery, m.workers["lookup"], m.orch)


def registry(mesh: Mesh) -> list[tuple[str, str, str | None]]:
    r = httpx.get(mesh.discovery.url + "/v1/agents", headers=ADMIN, timeout=5)
    assert r.status_code == 200
    return [
        (x["descriptor"]["instance_id"], x["descriptor"]["agent_id"], x["descriptor"]["endpoint"])
        for x in r.json()
    ]


def runs(mesh: Mesh) -> list[tuple[str, str]]:
    r = httpx.get(mesh.orch.url + "/v1/runs", headers=ADMIN, timeout=5)
    assert r.status_code == 200
    return [(x["run_id"], x["status"]) for x in r.json()]


PLAN = {
    "plan": {
        "tasks": [
            {
                "task_id": "t1",
                "capability": "search",
                "agent_id": "lookup",
                "input": {"query": "capital of France"},
            }
        ]
    }
}


def test_a_client_run_reaches_the_worker_and_stays_its_own(mesh: Mesh) -> None:
    r = httpx.post(mesh.orch.url + "/orchestrate", json=PLAN, headers=ALICE, timeout=60)
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    run_id = r.json()["run_id"]
    before = runs(mesh)
    theirs = httpx.get(f"{mesh.orch.url}/v1/runs/{run_id}", headers=BOB, timeout=5)
    assert theirs.status_code == 404 and theirs.json() == {"detail": f"unknown run {run_id!r}"}
    cancel = httpx.post(f"{mesh.orch.url}/v1/runs/{run_id}/cancel", headers=BOB, timeout=5)
    assert cancel.status_code == 404
    assert httpx.get(mesh.orch.url + "/v1/runs", headers=BOB, timeout=5).json() == []
    assert runs(mesh) == before
    anon = httpx.get(mesh.orch.url + "/v1/runs", timeout=5)
    assert anon.status_code == 401 and anon.json()["error"] == "missing_token"


def test_a_worker_takes_calls_only_from_the_orchestrator(mesh: Mesh) -> None:
    task = {"task_id": "t1", "input": {"query": "capital of France"}}
    anon = httpx.post(mesh.lookup.url + "/invoke", json=task, timeout=5)
    assert anon.status_code == 401 and anon.json()["error"] == "missing_token"
    client = httpx.post(mesh.lookup.url + "/stream", json=task, headers=ALICE, timeout=5)
    assert client.status_code == 403 and client.json()["error"] == "insufficient_scope"
    assert httpx.get(mesh.lookup.url + "/health", timeout=5).status_code == 200
    ok = httpx.post(
        mesh.lookup.url + "/invoke", json=task, headers=auth("orchestrator"), timeout=30
    )
    assert ok.status_code == 200


def test_registering_as_another_agent_or_into_metadata_is_refused(mesh: Mesh) -> None:
    before = registry(mesh)
    own = next(i for i in before if i[0] == "lookup-e2e")
    takeover = {
        "descriptor": {
            "agent_id": "lookup",
            "instance_id": "lookup-e2e",
            "endpoint": "http://127.0.0.1:1",
            "capabilities": ["search"],
        }
    }
    wrong = httpx.post(
        mesh.discovery.url + "/v1/agents", json=takeover, headers=auth("agent:writer"), timeout=5
    )
    assert wrong.status_code == 403 and wrong.json()["error"] == "insufficient_scope"
    gone = httpx.delete(
        mesh.discovery.url + "/v1/agents/lookup-e2e", headers=auth("agent:writer"), timeout=5
    )
    assert gone.status_code == 403
    for endpoint in (
        "http://169.254.169.254",
        "http://[fd00:ec2::254]",
        "http://[::ffff:a9fe:a9fe]:80",
    ):
        body = {
            "descriptor": {
                **takeover["descriptor"],
                "instance_id": "lookup-2",
                "endpoint": endpoint,
            }
        }
        r = httpx.post(
            mesh.discovery.url + "/v1/agents", json=body, headers=auth("agent:lookup"), timeout=5
        )
        assert r.status_code == 422 and r.json()["detail"][0]["type"] == "endpoint_refused", r.text
    assert registry(mesh) == before and own in before


def test_oversized_bodies_are_413_everywhere(mesh: Mesh) -> None:
    before_registry, before_runs = registry(mesh), runs(mesh)
    blob = b"{" + b" " * (2 << 20) + b"}"
    headers = {"Content-Type": "application/json"}
    for url, who in (
        (mesh.discovery.url + "/v1/agents", auth("agent:lookup")),
        (mesh.orch.url + "/orchestrate", ALICE),
    ):
        r = httpx.post(url, content=blob, headers={**headers, **who}, timeout=10)
        assert r.status_code == 413 and r.json()["error"] == "body_too_large"
    assert registry(mesh) == before_registry and runs(mesh) == before_runs


@pytest.mark.parametrize(
    ("module", "env"),
    [
        ("mesh_discovery", {"DISCOVERY_HOST": "0.0.0.0", "DISCOVERY_PORT": "{port}"}),
        (
            "mesh_orchestrator",
            {
                "ORCH_HOST": "0.0.0.0",
                "ORCH_PORT": "{port}",
                "ORCH_DISCOVERY_URL": "http://127.0.0.1:9",
            },
        ),
    ],
)
def test_a_service_exposed_without_a_secret_refuses_to_start(
    tmp_path: Path, module: str, env: dict[str, str]
) -> None:
    port = str(free_port())
    child = {k: v for k, v in os.environ.items() if not k.startswith("MESH_")}
    child.update({k: v.format(port=port) for k, v in env.items()})
    child["DISCOVERY_DB_PATH"] = child["ORCH_DB_PATH"] = str(tmp_path / "x.sqlite3")
    done = subprocess.run(
        [sys.executable, "-m", module],
        env=child,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert f"{module}: refusing to listen on 0.0.0.0 without public keys" in done.stderr
    assert "MESH_AUTH_JWKS_FILE" in done.stderr and "mesh keys init" in done.stderr
