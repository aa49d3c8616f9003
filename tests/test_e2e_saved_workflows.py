"""Saved workflows end to end on real processes with tokens: discovery, the scripted worker
(``bench.script_worker``) and the orchestrator with a mesh secret; clients alice and bob."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mesh_auth import Keys
from mesh_testkit import ServiceProcess, read_sse
from mesh_testkit.mesh import process_mesh

SECRET = "wf-" + "s" * 45
KEYS = Keys(SECRET.encode())


def auth(scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS.issue(scope, 86400)}"}


ADMIN, ALICE, BOB = auth("admin"), auth("client:alice"), auth("client:bob")

REVIEW = {
    "name": "story-review",
    "description": "review a story; characters if approved, else a revision",
    "query": "review the story about {{ topic }}",
    "parameters": {
        "type": "object",
        "properties": {
            "topic": {"type": "string", "minLength": 1, "maxLength": 100},
            "approved": {"type": "boolean", "default": False},
        },
        "required": ["topic"],
        "additionalProperties": False,
    },
    "plan": {
        "tasks": [
            {"task_id": "review", "capability": "data_analysis",
             "input": {"reply": {"approved": "{{approved}}", "topic": "{{ topic }}"}}},
            {"task_id": "characters", "capability": "data_analysis", "depends_on": ["review"],
             "when": "$.review.output.approved == true",
             "input": {"prompt": "characters of the story about {{topic}}"}},
            {"task_id": "revise", "capability": "data_analysis", "depends_on": ["review"],
             "when": "not $.review.output.approved",
             "input": {"prompt": "revise the story about {{topic}}"}},
        ]
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def orch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    with process_mesh(
        tmp_path_factory.mktemp("saved-workflows"),
        {"script": "bench.script_worker"},
        env={"MESH_AUTH_SECRET": SECRET},
        orchestrator_env={"ORCH_PLANNER": "deterministic", "ORCH_LOG_LEVEL": "warning"},
        worker_env={"WORKER_LOG_LEVEL": "warning"},
        headers=ADMIN,
        ready_timeout=30,
    ) as mesh:
        yield mesh.orch


async def follow(c: httpx.AsyncClient, url: str, who: dict[str, str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(60):
        async for msg in read_sse(c, "GET", url, headers=who):
            out.append(msg.json())
            if out[-1]["type"] == "done":
                break
    return out


async def test_a_saved_workflow_is_versioned_and_owned_by_its_client(orch: ServiceProcess) -> None:
    async with httpx.AsyncClient(base_url=orch.url, timeout=30) as c:
        first = await c.post("/v1/workflows", json=REVIEW, headers=ALICE)
        assert first.status_code == 201, first.text
        assert (first.json()["version"], first.json()["owner"]) == (1, "client:alice")
        second = await c.post("/v1/workflows", json={**REVIEW, "description": "v2"}, headers=ALICE)
        assert second.json()["version"] == 2
        listed = (await c.get("/v1/workflows", headers=ALICE)).json()
        assert [(w["name"], w["version"]) for w in listed] == [("story-review", 2)]
        old = await c.get("/v1/workflows/story-review", params={"version": 1}, headers=ALICE)
        assert old.json()["description"] == REVIEW["description"]
        # Bob sees none of it, exactly as if it did not exist; admin sees everyone's.
        assert (await c.get("/v1/workflows", headers=BOB)).json() == []
        for method, path in (("GET", "/v1/workflows/story-review"),
                             ("POST", "/v1/workflows/story-review/runs"),
                             ("DELETE", "/v1/workflows/story-review")):  # fmt: skip
            r = await c.request(method, path, headers=BOB, json={} if method == "POST" else None)
            assert r.status_code == 404 and r.json() == {
                "detail": "unknown workflow 'story-review'"
            }
        everyone = (await c.get("/v1/workflows", headers=ADMIN)).json()
        assert ("story-review", "client:alice") in [(w["name"], w["owner"]) for w in everyone]
        assert (await c.get("/v1/workflows")).status_code == 401
        gone = await c.delete("/v1/workflows/story-review", headers=ALICE)
        assert gone.status_code == 204
        assert (await c.get("/v1/workflows/story-review", headers=ALICE)).status_code == 404


@pytest.mark.parametrize("approved", [True, False])
async def test_a_saved_workflow_runs_with_arguments_and_records_its_version(
    orch: ServiceProcess, approved: bool
) -> None:
    spec = {**REVIEW, "name": f"review-{str(approved).lower()}"}
    async with httpx.AsyncClient(base_url=orch.url, timeout=30) as c:
        saved = await c.post("/v1/workflows", json=spec, headers=ALICE)
        assert saved.status_code == 201
        args = {"topic": "a lighthouse"} | ({"approved": True} if approved else {})
        started = await c.post(
            f"/v1/workflows/{spec['name']}/runs", json={"arguments": args}, headers=ALICE
        )
        assert started.status_code == 202, started.text
        body = started.json()
        assert body["workflow"] == {"name": spec["name"], "version": 1}
        events = await follow(c, body["events"], ALICE)
        assert events[-1]["data"]["status"] == "completed"
        result = next(e for e in events if e["type"] == "result" and e["task_id"] is None)["data"]
        # Arguments went in as JSON values (a boolean stays one) and as text.
        assert result["results"]["review"]["output"] == {
            "approved": approved,
            "topic": "a lighthouse",
        }
        taken = "characters" if approved else "revise"
        text = result["results"][taken]["output"]["text"]
        assert text.startswith(
            f"{'characters of' if approved else 'revise'} the story about a lighthouse"
        )
        run = (await c.get(f"/v1/runs/{body['run_id']}", headers=ALICE)).json()
        assert run["workflow"] == {"name": spec["name"], "version": 1}
        assert run["query"] == "review the story about a lighthouse"
        assert (await c.get(f"/v1/runs/{body['run_id']}", headers=BOB)).status_code == 404


@pytest.mark.parametrize(
    ("arguments", "detail"),
    [
        ({}, "arguments: 'topic' is a required property"),
        ({"topic": ""}, "topic: '' should be non-empty"),
        ({"topic": "x", "approved": "yes"}, "approved: 'yes' is not of type 'boolean'"),
        ({"topic": "x", "extra": 1}, "Additional properties are not allowed"),
    ],
)
async def test_a_saved_workflow_refuses_bad_arguments(
    orch: ServiceProcess, arguments: dict[str, Any], detail: str
) -> None:
    spec = {**REVIEW, "name": "strict"}
    async with httpx.AsyncClient(base_url=orch.url, timeout=30) as c:
        assert (await c.post("/v1/workflows", json=spec, headers=BOB)).status_code == 201
        before = len((await c.get("/v1/runs", headers=BOB)).json())
        r = await c.post("/v1/workflows/strict/runs", json={"arguments": arguments}, headers=BOB)
        assert r.status_code == 422 and r.json()["code"] == "invalid_arguments"
        assert detail in r.json()["detail"]
        assert len((await c.get("/v1/runs", headers=BOB)).json()) == before  # nothing started


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"query": "about {{ nobody }}"}, "undeclared parameters: nobody"),
        ({"parameters": {"type": "array"}}, "parameters must be an object schema"),
        ({"parameters": {"type": "object", "properties": {"x": {"type": "nonsense"}}}},
         "not a valid JSON Schema"),
        ({"plan": {"tasks": [{"task_id": "a", "capability": "search",
                              "when": "'{{topic}}' in tasks.a.text"}]}},
         "when may not hold placeholders"),
        ({"plan": {"tasks": [{"task_id": "a", "capability": "search", "depends_on": ["zz"]}]}},
         "unknown task 'zz'"),
        ({"name": "Bad Name!"}, "String should match pattern"),
    ],
)  # fmt: skip
async def test_a_bad_template_is_refused_with_a_short_reason(
    orch: ServiceProcess, change: dict[str, Any], message: str
) -> None:
    async with httpx.AsyncClient(base_url=orch.url, timeout=30) as c:
        r = await c.post("/v1/workflows", json={**REVIEW, **change}, headers=ALICE)
    assert r.status_code == 422
    assert message in r.text and len(r.text) < 2000


def test_the_cli_saves_lists_and_starts_a_workflow(orch: ServiceProcess, tmp_path: Any) -> None:
    """``mesh workflow`` as a user runs it: a real process against the real orchestrator."""
    import json
    import os
    import subprocess
    import sys

    token = KEYS.issue("client:carol", 3600)
    env = {**os.environ, "MESH_URL": orch.url, "MESH_TOKEN": token}
    spec = tmp_path / "wf.json"
    spec.write_text(json.dumps({**REVIEW, "name": "cli-review"}))

    def mesh(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mesh_cli", *argv],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    saved = mesh("workflow", "save", str(spec))
    assert saved.returncode == 0, saved.stderr
    assert "saved workflow cli-review version 1" in saved.stdout
    listed = mesh("workflow", "list")
    assert "cli-review" in listed.stdout and "topic, approved" in listed.stdout
    run = mesh("workflow", "start", "cli-review", "--arg", "topic=the sea", "--arg",
               "approved=true", "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert events[-1]["type"] == "done" and events[-1]["data"]["status"] == "completed"
    conds = [e["data"] for e in events if e["data"].get("status") == "condition"]
    assert {(c["expression"], c["result"]) for c in conds} == {
        ("$.review.output.approved == true", True), ("not $.review.output.approved", False)
    }  # fmt: skip
    assert "of workflow cli-review v1" in run.stderr
    bad = mesh("workflow", "start", "cli-review", "--arg", "approved=true")
    assert bad.returncode == 1 and "'topic' is a required property" in bad.stderr
