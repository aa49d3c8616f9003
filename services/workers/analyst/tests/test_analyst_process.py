"""The analyst as a real process: ``python -m mesh_worker_analyst`` on a loopback port."""

import httpx
import pytest

from mesh_testkit import free_port, read_sse, running

TABLE = "region,sales,units\nWest,100,10\nEast,200,19\nNorth,150,16\nSouth,120,12\nCentral,900,31\n"


@pytest.fixture(scope="module")
def analyst():
    port = free_port()
    env = {"WORKER_PORT": str(port), "WORKER_DISCOVERY_URL": ""}
    with running("mesh_worker_analyst", port, env) as svc:
        yield svc


async def test_stream_sends_step_messages_then_the_result_then_done(analyst):
    body = {"input": {"data": TABLE, "question": "Which region has the highest sales?"}}
    async with httpx.AsyncClient(timeout=30) as client:
        events = [
            m.json() async for m in read_sse(client, "POST", analyst.url + "/stream", json=body)
        ]
    assert [e["type"] for e in events] == ["message"] * 5 + ["result", "done"]
    assert [e["content"].splitlines()[0] for e in events[:5]] == [
        "### Shape",
        "### Summary statistics",
        "### Outliers",
        "### Correlations",
        "### Conclusion",
    ]
    output = events[5]["output"]
    assert output["shape"] == {"rows": 5, "columns": 3}
    assert output["outliers"]["columns"]["sales"]["rows"] == [4]
    assert "The highest sales is 900, in row 4 (region = Central)." in events[4]["content"]


async def test_invoke_answers_one_worker_result_with_the_findings_and_messages(analyst):
    body = {
        "task_id": "t1",
        "input": {"data": [{"x": 1, "y": 2}, {"x": 2, "y": 4}, {"x": 3, "y": 7}]},
    }
    async with httpx.AsyncClient(timeout=30) as client:
        resp = await client.post(analyst.url + "/invoke", json=body)
    assert resp.status_code == 200
    result = resp.json()
    assert (result["task_id"], result["agent_id"], result["status"]) == (
        "t1",
        "analyst",
        "completed",
    )
    assert result["output"]["stats"]["y"]["mean"] == pytest.approx(13 / 3)
    assert len(result["messages"]) == 5


async def test_bad_data_is_a_422_on_invoke_and_an_invalid_input_event_on_stream(analyst):
    body = {"input": {"data": "a,b\n1,2\n3\n"}}
    async with httpx.AsyncClient(timeout=30) as client:
        resp = await client.post(analyst.url + "/invoke", json=body)
        events = [
            m.json() async for m in read_sse(client, "POST", analyst.url + "/stream", json=body)
        ]
    assert resp.status_code == 422
    assert "row 1 (line 3) has 1 fields" in resp.json()["detail"][0]["msg"]
    assert [e["type"] for e in events] == ["error", "done"]
    assert events[0]["code"] == "invalid_input" and "row 1 (line 3)" in events[0]["error"]


async def test_descriptor_advertises_the_message_streaming_analyst_at_its_own_url(analyst):
    async with httpx.AsyncClient(timeout=10) as client:
        d = (await client.get(analyst.url + "/descriptor")).json()
    assert d["agent_id"] == "analyst" and d["capabilities"] == ["data_analysis"]
    assert d["streaming_mode"] == "dynamic_messages"
    assert d["endpoint"] == analyst.url
    assert "max_rows" in d["input_schema"]["properties"]
