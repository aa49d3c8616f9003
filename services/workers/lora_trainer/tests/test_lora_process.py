"""The LoRA trainer as a real process on a loopback port (tiny random Llama, CPU), with auth
on as deployed: public keys, its own agent token, and adapters kept for the client whose
run trained them."""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mesh_testkit import ServiceProcess, free_port, read_sse, running
from mesh_testkit.trust import Credentials, credentials

MODULE = "mesh_worker_lora_trainer"
EXAMPLES = ["the cat sat on the mat", {"prompt": "Q: hi\nA:", "completion": " ahoy"}]


def _env(port: int, adapters: Path, **extra: str) -> dict[str, str]:
    return {
        "WORKER_PORT": str(port),
        "WORKER_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "WORKER_DISCOVERY_URL": "",
        "LORA_ADAPTERS_DIR": str(adapters),
        "LORA_DEVICE": "cpu",
        **extra,
    }


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> Credentials:
    return credentials(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, creds: Credentials
) -> Iterator[ServiceProcess]:
    port = free_port()
    env = _env(port, tmp_path_factory.mktemp("adapters"), LORA_BASE_MODEL="tiny")
    env |= creds.env()
    env["MESH_TOKEN_FILE"] = str(creds.token_file("lora", "agent:lora-trainer"))
    with running(MODULE, port, env, startup_timeout=120) as svc:
        yield svc


@pytest.fixture(scope="module")
def as_(creds: Credentials) -> dict[str, dict[str, str]]:
    """Headers by who: the orchestrator (the only one who makes it train), alice, bob, admin."""
    return {
        who: creds.bearer(scope)
        for who, scope in (
            ("orchestrator", "orchestrator"),
            ("alice", "client:alice"),
            ("bob", "client:bob"),
            ("admin", "admin"),
        )
    }


async def _events(
    url: str, inp: dict[str, Any], headers: dict[str, str], owner: str = "client:alice"
) -> list[dict[str, Any]]:
    body = {"input": inp, "owner": owner}  # the orchestrator names the run's owner
    async with httpx.AsyncClient(timeout=60, headers=headers) as client:
        return [m.json() async for m in read_sse(client, "POST", f"{url}/stream", json=body)]


async def test_stream_sends_progress_then_an_adapter_zip_that_downloads(
    service: ServiceProcess, as_: dict[str, dict[str, str]]
) -> None:
    inp = {"examples": EXAMPLES, "steps": 2, "rank": 4}
    events = await _events(service.url, inp, as_["orchestrator"])

    assert [e["type"] for e in events] == ["progress"] * 2 + ["artifact", "result", "done"]
    assert {"loss", "learning_rate", "tokens_per_s"} <= events[0].keys()
    usage = events[3]["usage"]  # what the job cost, in the final event
    assert usage["gpu_s"] == 0.0  # LORA_DEVICE=cpu: no GPU held
    assert usage["wall_s"] >= events[1]["elapsed_s"] > 0  # the run spans its training
    assert usage["completion_tokens"] == 0
    assert usage["prompt_tokens"] == events[3]["output"]["tokens"] > 0  # tokens trained on
    artifact = events[2]
    adapter_id = artifact["adapter_id"]
    async with httpx.AsyncClient(headers=as_["alice"]) as client:  # alice's run trained it
        archive = await client.get(artifact["url"])
        listing = (await client.get(f"{service.url}/adapters")).json()["adapters"]
        detail = (await client.get(f"{service.url}/adapters/{adapter_id}")).json()
        missing = await client.get(f"{service.url}/adapters/nope")
        descriptor = (await client.get(f"{service.url}/descriptor")).json()
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    assert len(archive.content) == artifact["size_bytes"]
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert "adapter_config.json" in names and "adapter_model.safetensors" in names
    assert adapter_id in [a["adapter_id"] for a in listing]
    assert detail["config"]["r"] == 4 and detail["job"]["status"] == "complete"
    assert detail["job"]["owner"] == "client:alice"
    assert missing.status_code == 404
    assert descriptor["metadata"]["model"] == "tiny-random"
    assert descriptor["capabilities"] == ["lora_training"]


async def test_a_busy_trainer_refuses_a_second_job_and_a_dropped_job_leaves_a_checkpoint(
    service: ServiceProcess, as_: dict[str, dict[str, str]]
) -> None:
    body = {"input": {"examples": EXAMPLES, "steps": 10_000, "adapter_name": "dropped"}}
    async with httpx.AsyncClient(timeout=60, headers=as_["orchestrator"]) as client:
        async for msg in read_sse(client, "POST", f"{service.url}/stream", json=body):
            assert msg.json()["type"] == "progress"
            second = await client.post(f"{service.url}/stream", json=body)
            assert second.status_code == 429 and "retry-after" in second.headers
            break  # leaving the stream drops the connection: the job is cancelled
        deadline = time.monotonic() + 60
        # The SDK frees its slot only once the job's thread is done (checkpoint saved).
        while (health := (await client.get(f"{service.url}/health")).json())["in_flight"] != 0:
            assert time.monotonic() < deadline, "the trainer never went idle"
            await asyncio.sleep(0.05)
        assert health["running"] == 0
        listing = (await client.get(f"{service.url}/adapters", headers=as_["admin"])).json()
    listing = listing["adapters"]
    [dropped] = [a for a in listing if a["adapter_id"].startswith("dropped-")]
    assert dropped["status"] == "partial"
    assert 1 <= dropped["steps_done"] < 10_000


async def test_bad_input_is_refused_before_training(
    service: ServiceProcess, as_: dict[str, dict[str, str]]
) -> None:
    async with httpx.AsyncClient(timeout=60, headers=as_["orchestrator"]) as client:
        url = f"{service.url}/invoke"
        steps = await client.post(url, json={"input": {"examples": ["a"], "steps": 0}})
        empty = await client.post(url, json={"input": {"examples": []}})
        missing = await client.post(url, json={"input": {"dataset_path": "/no/such.jsonl"}})
    assert steps.status_code == 422 and "steps" in steps.text
    assert empty.status_code == 422 and "examples" in empty.text
    assert missing.status_code == 422 and "LORA_DATASET_DIR" in missing.text

    events = await _events(service.url, {"dataset_path": "/no/such.txt"}, as_["orchestrator"])
    assert [e["type"] for e in events] == ["error", "done"]
    assert events[0]["code"] == "invalid_input"


async def test_an_adapter_is_listed_and_downloaded_only_by_its_owner(
    service: ServiceProcess, as_: dict[str, dict[str, str]]
) -> None:
    """Attack: bob lists the trainer's adapters and downloads alice's; anyone without a token
    tries the same. Only alice (and admin) see it; the others get 401, or 404 as if it did
    not exist."""
    inp = {"examples": EXAMPLES, "steps": 1, "rank": 2, "adapter_name": "alices"}
    events = await _events(service.url, inp, as_["orchestrator"])
    adapter_id = next(e for e in events if e["type"] == "artifact")["adapter_id"]
    routes = ["/adapters", f"/adapters/{adapter_id}", f"/artifacts/{adapter_id}.zip"]
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as c:
        for path in routes:
            anon = await c.get(path)
            assert anon.status_code == 401 and anon.json()["error"] == "missing_token", path
        listed = (await c.get("/adapters", headers=as_["bob"])).json()["adapters"]
        assert adapter_id not in [a["adapter_id"] for a in listed]
        for path in routes[1:]:
            theirs = await c.get(path, headers=as_["bob"])
            assert theirs.status_code == 404, path
            assert adapter_id in theirs.json()["detail"]  # the same answer as an unknown id
        for who in ("alice", "admin"):
            assert (await c.get(routes[2], headers=as_[who])).status_code == 200
            listed = (await c.get("/adapters", headers=as_[who])).json()["adapters"]
            assert adapter_id in [a["adapter_id"] for a in listed]
        client_call = await c.post("/invoke", json={"input": inp}, headers=as_["alice"])
        assert client_call.status_code == 403  # a client never makes a worker work itself


async def test_an_adapter_is_deleted_by_the_orchestrator_and_its_folder_leaves_the_disk(
    service: ServiceProcess, as_: dict[str, dict[str, str]]
) -> None:
    """Retention's call (``DELETE /artifacts/{id}.zip``, the orchestrator's token): the
    adapter folder goes; bob (attack) cannot delete alice's, nor anyone without a token."""
    inp = {"examples": EXAMPLES, "steps": 1, "rank": 2, "adapter_name": "doomed"}
    events = await _events(service.url, inp, as_["orchestrator"])
    artifact = next(e for e in events if e["type"] == "artifact")
    folder = Path(artifact["path"])
    assert (folder / "adapter_config.json").is_file()
    async with httpx.AsyncClient(timeout=30) as c:
        assert (await c.delete(artifact["url"])).status_code == 401
        theirs = await c.delete(artifact["url"], headers=as_["bob"])
        assert theirs.status_code == 404 and "no artifact named" in theirs.json()["detail"]
        assert folder.is_dir()  # noqa: ASYNC240 - a tmp dir
        gone = await c.delete(artifact["url"], headers=as_["orchestrator"])
        assert gone.status_code == 204
        assert (await c.delete(artifact["url"], headers=as_["orchestrator"])).status_code == 404
        listed = (await c.get(f"{service.url}/adapters", headers=as_["alice"])).json()
    assert artifact["adapter_id"] not in [a["adapter_id"] for a in listed["adapters"]]
    assert not folder.exists()  # noqa: ASYNC240 - a tmp dir
    assert not list(folder.parent.glob(f".{artifact['adapter_id']}*"))


def test_a_base_model_path_that_does_not_exist_stops_the_worker_with_a_clear_error(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = _env(port, tmp_path, LORA_BASE_MODEL_PATH=str(tmp_path / "no-such-model"))
    with pytest.raises(RuntimeError, match="no-such-model does not exist"):
        ServiceProcess(MODULE, port, env, startup_timeout=120).start()
