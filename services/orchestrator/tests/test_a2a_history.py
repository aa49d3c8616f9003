"""An A2A task's history (A2A 1.0 3.2.4): every message of the exchange in order, the
follow-ups included, kept in the run store so that another orchestrator on the same
database (a restart) shows it; ``historyLength`` takes the last ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from orch_fakes import Mesh, serve, stop, writer_like
from test_a2a_conformance import HEADERS, follow_up, parked, rpc

from mesh_orchestrator.app import create_app
from mesh_orchestrator.settings import Settings


def said(history: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(m["role"], m["parts"][0]["text"]) for m in history]


async def test_a_follow_up_and_the_question_it_answers_are_in_the_history_after_a_restart(
    mesh: Mesh, tmp_path: Path
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    task = (await rpc(mesh, "SendMessage", parked("write it")))["result"]["task"]
    answer = await rpc(mesh, "SendMessage", follow_up(task["id"], "yes, go on"))
    done = answer["result"]["task"]
    assert done["status"]["state"] == "TASK_STATE_COMPLETED", answer
    expected = [
        ("ROLE_USER", "write it"),
        ("ROLE_AGENT", "awaiting approval of the plan: t1 (text_generation)"),
        ("ROLE_USER", "yes, go on"),
    ]
    assert said(done["history"]) == expected
    assert done["history"][2]["messageId"] == "m6"
    assert {m["taskId"] for m in done["history"]} == {task["id"]}
    # Another orchestrator on the same store (this one stopped): the same history.
    await stop(mesh.orch)
    settings = Settings(
        discovery_url=mesh.disc.url,
        db_path=tmp_path / "orch.sqlite3",
        watch_wait_seconds=1.0,
        discovery_retry_seconds=0.05,
    )
    again = await serve(create_app(settings))
    try:
        url = again.url + "/a2a"

        async def get(params: dict[str, Any]) -> dict[str, Any]:
            body = {"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": params}
            async with httpx.AsyncClient(timeout=30) as c:
                got: dict[str, Any] = (await c.post(url, json=body, headers=HEADERS)).json()
            return got["result"]

        assert said((await get({"id": task["id"]}))["history"]) == expected
        assert said((await get({"id": task["id"], "historyLength": 2}))["history"]) == expected[1:]
        assert said((await get({"id": task["id"], "historyLength": 10}))["history"]) == expected
        assert "history" not in await get({"id": task["id"], "historyLength": 0})
        body = {"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {"historyLength": 1}}
        async with httpx.AsyncClient(timeout=30) as c:
            listed = (await c.post(url, json=body, headers=HEADERS)).json()["result"]["tasks"]
        assert [said(t["history"]) for t in listed] == [expected[2:]]
    finally:
        await stop(again)
