"""The service as a real process: ``python -m mesh_discovery`` on a loopback port."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx

from mesh_testkit import free_port, running

EXAMPLE_AGENTS = Path(__file__).resolve().parents[1] / "agents.example.yaml"


def _env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    return {
        "DISCOVERY_HOST": "127.0.0.1",
        "DISCOVERY_PORT": str(port),
        "DISCOVERY_DB_PATH": str(tmp_path / "var" / "discovery.sqlite3"),
        **extra,
    }


def _register(url: str, instance_id: str) -> httpx.Response:
    descriptor = {
        "agent_id": "writer",
        "instance_id": instance_id,
        "endpoint": "http://127.0.0.1:8001",
        "capabilities": ["text_generation"],
        "streaming_mode": "dynamic_events",
    }
    return httpx.post(f"{url}/v1/agents", json={"descriptor": descriptor, "ttl_seconds": 600})


def test_a_restarted_process_keeps_registrations_and_the_index(tmp_path: Path):
    port = free_port()
    env = _env(tmp_path, port, DISCOVERY_AGENTS_FILE=str(EXAMPLE_AGENTS))
    with running("mesh_discovery", port, env) as svc:
        assert _register(svc.url, "w-1").status_code == 200
        index = httpx.get(f"{svc.url}/health").json()["index"]

    with running("mesh_discovery", port, env) as svc:
        assert httpx.get(f"{svc.url}/health").json()["index"] == index
        record = httpx.get(f"{svc.url}/v1/agents/w-1").json()
        assert record["status"] == "passing"
        ids = {r["descriptor"]["instance_id"] for r in httpx.get(f"{svc.url}/v1/agents").json()}
        assert ids == {"w-1", "capital-facts", "key-points"}


def test_a_registration_answered_before_a_kill_9_is_there_after_a_restart(tmp_path: Path):
    """Registrations are committed before they are answered (heartbeats write behind):
    the process killed with SIGKILL right after the answer loses none of them, and its
    index starts above the one it gave out."""
    port = free_port()
    env = _env(tmp_path, port)
    with running("mesh_discovery", port, env) as svc:
        for n in range(5):
            assert _register(svc.url, f"w-{n}").status_code == 200
        assert httpx.put(f"{svc.url}/v1/agents/w-0/heartbeat").status_code == 200
        index = httpx.get(f"{svc.url}/health").json()["index"]
        svc.kill()

    with running("mesh_discovery", port, env) as svc:
        assert httpx.get(f"{svc.url}/health").json()["index"] >= index
        ids = {r["descriptor"]["instance_id"] for r in httpx.get(f"{svc.url}/v1/agents").json()}
        assert ids == {f"w-{n}" for n in range(5)}


async def test_a_watch_wakes_on_another_clients_register_and_is_released_on_shutdown(
    tmp_path: Path,
):
    port = free_port()
    with running("mesh_discovery", port, _env(tmp_path, port)) as svc:
        async with httpx.AsyncClient(base_url=svc.url, timeout=30) as watcher:
            index = int((await watcher.get("/v1/agents")).headers["X-Mesh-Index"])
            watch = asyncio.create_task(watcher.get(f"/v1/agents?index={index}&wait=1m"))
            # Not a synchronisation sleep: the watch must still be open after this bound.
            await asyncio.wait({watch}, timeout=0.3)
            assert not watch.done()

            await asyncio.to_thread(_register, svc.url, "w-1")
            woke = await asyncio.wait_for(watch, 20)
            new_index = int(woke.headers["X-Mesh-Index"])
            assert new_index > index
            assert [r["descriptor"]["instance_id"] for r in woke.json()] == ["w-1"]

            # A shutdown answers an open watch with the current state, not an error.
            watch = asyncio.create_task(watcher.get(f"/v1/agents?index={new_index}&wait=5m"))
            await asyncio.wait({watch}, timeout=0.3)
            assert not watch.done()
            await asyncio.to_thread(svc.stop)
            released = await asyncio.wait_for(watch, 20)
            assert released.status_code == 200
            assert int(released.headers["X-Mesh-Index"]) == new_index


def test_a_malformed_agents_file_fails_startup_naming_the_entry_and_field(tmp_path: Path):
    agents = tmp_path / "agents.yaml"
    agents.write_text(
        "- agent_id: fine\n  capabilities: [search]\n  static_response: ok\n"
        "- agent_id: broken\n  capabilities: [search]\n  static_response: ok\n"
        "  priority: high\n"
    )
    env = {**os.environ, **_env(tmp_path, free_port(), DISCOVERY_AGENTS_FILE=str(agents))}
    done = subprocess.run(
        [sys.executable, "-m", "mesh_discovery"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "entry 2 (agent_id 'broken')" in done.stderr
    assert "field 'priority'" in done.stderr
