"""The lookup worker as a real process: ``python -m mesh_worker_lookup`` on a loopback port."""

import httpx
import pytest

from mesh_testkit import free_port, read_sse, running


@pytest.fixture(scope="module")
def lookup(tmp_path_factory):
    extra = tmp_path_factory.mktemp("kb")
    (extra / "teapots.md").write_text("# Teapots\n\nThe Utah teapot is a classic 3D test model.\n")
    port = free_port()
    env = {"WORKER_PORT": str(port), "WORKER_DISCOVERY_URL": "", "LOOKUP_KB_DIR": str(extra)}
    with running("mesh_worker_lookup", port, env) as svc:
        yield svc


async def test_invoke_answers_ranked_passages_as_one_json_result(lookup):
    body = {"task_id": "q1", "input": {"query": "Who invented the World Wide Web?", "top_k": 2}}
    async with httpx.AsyncClient(timeout=30) as client:
        resp = await client.post(lookup.url + "/invoke", json=body)
    assert resp.status_code == 200
    result = resp.json()
    assert (result["task_id"], result["agent_id"], result["status"]) == (
        "q1",
        "lookup",
        "completed",
    )
    output = result["output"]
    assert output["query"] == "Who invented the World Wide Web?"
    assert output["results"][0]["source"] == "internet-history.md"
    assert len(output["results"]) == 2 and "Berners-Lee" in output["results"][0]["passage"]


async def test_stream_sends_the_result_then_done(lookup):
    body = {"input": {"query": "Utah teapot"}}
    async with httpx.AsyncClient(timeout=30) as client:
        events = [
            m.json() async for m in read_sse(client, "POST", lookup.url + "/stream", json=body)
        ]
    assert [e["type"] for e in events] == ["result", "done"]
    assert events[0]["output"]["results"][0]["source"] == "teapots.md"  # from LOOKUP_KB_DIR


async def test_out_of_range_input_is_a_422_naming_the_field(lookup):
    async with httpx.AsyncClient(timeout=10) as client:
        resp = await client.post(
            lookup.url + "/invoke", json={"input": {"query": "x", "top_k": 50}}
        )
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "input", "top_k"]


async def test_health_reports_the_index_and_descriptor_is_static_search(lookup):
    async with httpx.AsyncClient(timeout=10) as client:
        health = (await client.get(lookup.url + "/health")).json()
        d = (await client.get(lookup.url + "/descriptor")).json()
    assert health["documents"] == 23 and health["passages"] > 50
    assert d["agent_id"] == "lookup" and d["capabilities"] == ["search"]
    assert d["streaming_mode"] == "static" and d["endpoint"] == lookup.url
