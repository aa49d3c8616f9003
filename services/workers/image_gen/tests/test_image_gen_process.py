"""The image worker as a real process on a loopback port (tiny model, CPU), with auth on as
deployed: public keys, its own agent token, and images kept for the client whose run made
them."""

from __future__ import annotations

import asyncio
import base64
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from mesh_testkit import ServiceProcess, free_port, read_sse, running
from mesh_testkit.trust import Credentials, credentials

MODULE = "mesh_worker_image_gen"


def _env(port: int, out: Path, **extra: str) -> dict[str, str]:
    return {
        "WORKER_PORT": str(port),
        "WORKER_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "WORKER_DISCOVERY_URL": "",
        "IMAGEGEN_OUTPUT_DIR": str(out),
        "IMAGEGEN_DEVICE": "cpu",
        **extra,
    }


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("images")


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> Credentials:
    return credentials(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def service(out_dir: Path, creds: Credentials) -> Iterator[ServiceProcess]:
    port = free_port()
    env = _env(port, out_dir) | creds.env()
    env["MESH_TOKEN_FILE"] = str(creds.token_file("image-gen", "agent:image-gen"))
    with running(MODULE, port, env, startup_timeout=120) as svc:
        yield svc


@pytest.fixture(scope="module")
def as_(creds: Credentials) -> dict[str, dict[str, str]]:
    """Headers by who: the orchestrator (the only one who makes it work), alice, bob."""
    return {
        "orchestrator": creds.bearer("orchestrator"),
        "alice": creds.bearer("client:alice"),
        "bob": creds.bearer("client:bob"),
    }


async def _events(url: str, inp: dict[str, Any], headers: dict[str, str]) -> list[dict[str, Any]]:
    body = {"input": inp, "owner": "client:alice"}  # the orchestrator names the run's owner
    async with httpx.AsyncClient(timeout=60, headers=headers) as client:
        return [m.json() async for m in read_sse(client, "POST", f"{url}/stream", json=body)]


async def _idle(client: httpx.AsyncClient, url: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    # The SDK frees its slot only once the job's thread is done ("running" counts those).
    while (health := (await client.get(f"{url}/health")).json())["in_flight"] != 0:
        assert time.monotonic() < deadline, "the worker never went idle"
        await asyncio.sleep(0.05)
    assert health["running"] == 0


async def test_stream_sends_progress_then_a_png_artifact_that_downloads(
    service: ServiceProcess, as_: dict[str, dict[str, str]]
) -> None:
    inp = {"prompt": "a red fox", "steps": 3, "seed": 3}
    events = await _events(service.url, inp, as_["orchestrator"])

    assert [e["type"] for e in events] == ["progress"] * 3 + ["artifact", "result", "done"]
    artifact = events[3]
    assert artifact["url"].startswith(service.url + "/artifacts/")
    async with httpx.AsyncClient(headers=as_["alice"]) as client:  # alice's run made it
        resp = await client.get(artifact["url"])
        missing = await client.get(f"{service.url}/artifacts/nope.png")
        descriptor = (await client.get(f"{service.url}/descriptor")).json()
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/png"
    assert resp.content == base64.b64decode(artifact["data_base64"])
    assert len(resp.content) == artifact["size_bytes"]
    assert Image.open(io.BytesIO(resp.content)).size == (64, 64)
    assert missing.status_code == 404 and "nope.png" in missing.json()["detail"]
    assert descriptor["metadata"]["model"] == "tiny-random"
    assert descriptor["capabilities"] == ["image_generation"]
    assert descriptor["streaming_mode"] == "dynamic_events"


async def test_an_image_downloads_only_for_its_owner(
    service: ServiceProcess, as_: dict[str, dict[str, str]]
) -> None:
    """Attack: bob, and anyone without a token, fetch alice's image by its URL."""
    events = await _events(service.url, {"prompt": "a cat", "steps": 1}, as_["orchestrator"])
    url = next(e for e in events if e["type"] == "artifact")["url"]
    async with httpx.AsyncClient(timeout=30) as client:
        anon = await client.get(url)
        assert anon.status_code == 401 and anon.json()["error"] == "missing_token"
        theirs = await client.get(url, headers=as_["bob"])
        assert theirs.status_code == 404 and "no artifact named" in theirs.json()["detail"]
        assert (await client.get(url, headers=as_["alice"])).status_code == 200
        assert (await client.get(url, headers=as_["orchestrator"])).status_code == 404


async def test_an_image_is_deleted_by_the_orchestrator_or_its_owner_and_leaves_the_disk(
    service: ServiceProcess, out_dir: Path, as_: dict[str, dict[str, str]]
) -> None:
    """Retention's call (``DELETE /artifacts/{name}``, the orchestrator's token): the PNG and
    its owner file go; bob (attack) and anyone without a token cannot delete alice's."""
    made = []
    for prompt in ("a boat", "a kite"):
        events = await _events(service.url, {"prompt": prompt, "steps": 1}, as_["orchestrator"])
        made.append(next(e for e in events if e["type"] == "artifact"))
    async with httpx.AsyncClient(timeout=30) as client:
        for art in made:
            assert (out_dir / art["name"]).is_file()
            anon = await client.delete(art["url"])
            assert anon.status_code == 401
            theirs = await client.delete(art["url"], headers=as_["bob"])
            assert theirs.status_code == 404 and "no artifact named" in theirs.json()["detail"]
            assert (out_dir / art["name"]).is_file()
        by_orchestrator = await client.delete(made[0]["url"], headers=as_["orchestrator"])
        by_owner = await client.delete(made[1]["url"], headers=as_["alice"])
        assert by_orchestrator.status_code == by_owner.status_code == 204
        again = await client.delete(made[0]["url"], headers=as_["orchestrator"])
        assert again.status_code == 404
        assert (await client.get(made[1]["url"], headers=as_["alice"])).status_code == 404
    for art in made:
        assert not (out_dir / art["name"]).exists()
        assert not (out_dir / f"{art['name']}.json").exists()


async def test_a_busy_worker_refuses_a_second_job_and_a_dropped_job_stops_early(
    service: ServiceProcess, out_dir: Path, as_: dict[str, dict[str, str]]
) -> None:
    before = set(out_dir.iterdir())  # noqa: ASYNC240 - a tmp dir listing
    body = {"input": {"prompt": "a slow cat", "steps": 150, "width": 128, "height": 128}}
    async with httpx.AsyncClient(timeout=60, headers=as_["orchestrator"]) as client:
        async for msg in read_sse(client, "POST", f"{service.url}/stream", json=body):
            assert msg.json()["type"] == "progress"
            second = await client.post(f"{service.url}/stream", json=body)
            assert second.status_code == 429
            assert int(second.headers["retry-after"]) >= 0
            break  # leaving the stream drops the connection: the job is cancelled
        await _idle(client, service.url)
    assert set(out_dir.iterdir()) == before  # noqa: ASYNC240 - no image: it never finished


async def test_bad_input_is_refused_with_the_field_named(
    service: ServiceProcess, as_: dict[str, dict[str, str]]
) -> None:
    async with httpx.AsyncClient(timeout=60, headers=as_["orchestrator"]) as client:
        url = f"{service.url}/invoke"
        steps = await client.post(url, json={"input": {"prompt": "a cat", "steps": 0}})
        blank = await client.post(url, json={"input": {"prompt": "  "}})
        odd = await client.post(url, json={"input": {"prompt": "a cat", "width": 100}})
        huge = await client.post(url, json={"input": {"prompt": "a cat", "width": 1024}})
    assert steps.status_code == 422 and "steps" in steps.text
    assert blank.status_code == 422 and "prompt" in blank.text
    assert odd.status_code == 422 and "width" in odd.text
    assert huge.status_code == 422 and "width=1024" in huge.text

    events = await _events(service.url, {"prompt": "", "steps": 3}, as_["orchestrator"])
    assert [e["type"] for e in events] == ["error", "done"]
    assert events[0]["code"] == "invalid_input" and "prompt" in events[0]["error"]


def test_a_model_path_that_does_not_exist_stops_the_worker_with_a_clear_error(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = _env(port, tmp_path, IMAGEGEN_MODEL_PATH=str(tmp_path / "no-such-model"))
    svc = ServiceProcess(MODULE, port, env, startup_timeout=120)
    with pytest.raises(RuntimeError, match="no-such-model does not exist"):
        svc.start()
