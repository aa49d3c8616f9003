"""What the A2A conformance kit (a2a-tck) found, each as our own test over raw JSON-RPC:
the requests the A2A 1.0 specification says a server must refuse, and the errors it names."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from orch_fakes import Mesh, writer_like

from mesh_contracts import SSEDecoder

HEADERS = {"A2A-Version": "1.0"}
DEADLINE = 20.0
INVALID_PARAMS, TASK_NOT_FOUND, UNSUPPORTED, CONTENT_TYPE = -32602, -32001, -32004, -32005


async def rpc(mesh: Mesh, method: str, params: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as c:
        r = await c.post(
            mesh.url + "/a2a",
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
            headers=HEADERS,
        )
    assert "Traceback" not in r.text
    answer: dict[str, Any] = r.json()
    return answer


def code(answer: dict[str, Any]) -> int | None:
    error = answer.get("error")
    return error["code"] if error else None


def message(text: str = "hi", **extra: Any) -> dict[str, Any]:
    plan = {"tasks": [{"task_id": "t1", "capability": "text_generation", "input": {"prompt": "x"}}]}
    return {
        "messageId": "m1",
        "role": "ROLE_USER",
        "parts": [{"text": text}, {"data": {"plan": plan}}],
        **extra,
    }


async def finished_task(mesh: Mesh) -> str:
    await mesh.register(writer_like(mesh.workers[0].url))
    answer = await rpc(mesh, "SendMessage", {"message": message()})
    task = answer["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED", answer
    return str(task["id"])


async def test_list_tasks_refuses_a_page_size_outside_one_to_a_hundred(mesh: Mesh) -> None:
    await finished_task(mesh)
    for size in (0, -1, 101):
        answer = await rpc(mesh, "ListTasks", {"pageSize": size})
        assert code(answer) == INVALID_PARAMS, (size, answer)
    for size in (1, 100):
        answer = await rpc(mesh, "ListTasks", {"pageSize": size})
        assert answer["result"]["pageSize"] == size and len(answer["result"]["tasks"]) == 1


async def test_a_negative_history_length_is_refused_and_zero_omits_the_history(
    mesh: Mesh,
) -> None:
    task_id = await finished_task(mesh)
    assert code(await rpc(mesh, "GetTask", {"id": task_id, "historyLength": -1})) == INVALID_PARAMS
    assert code(await rpc(mesh, "ListTasks", {"historyLength": -1})) == INVALID_PARAMS
    none = await rpc(mesh, "GetTask", {"id": task_id, "historyLength": 0})
    assert "history" not in none["result"]
    some = await rpc(mesh, "GetTask", {"id": task_id, "historyLength": 5})
    assert some["result"]["history"][0]["parts"][0]["text"] == "hi"


async def test_an_invalid_page_token_is_refused_not_read_as_the_first_page(mesh: Mesh) -> None:
    await finished_task(mesh)
    await rpc(mesh, "SendMessage", {"message": message("second")})
    first = (await rpc(mesh, "ListTasks", {"pageSize": 1}))["result"]
    token = first["nextPageToken"]
    second = (await rpc(mesh, "ListTasks", {"pageSize": 1, "pageToken": token}))["result"]
    assert [t["id"] for t in second["tasks"]] != [t["id"] for t in first["tasks"]]
    for bad in ("invalid-token-xyz", "-1", "99999", "1" * 40):
        answer = await rpc(mesh, "ListTasks", {"pageSize": 1, "pageToken": bad})
        assert code(answer) == INVALID_PARAMS, (bad, answer)


async def test_a_message_without_a_message_id_is_refused(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    body = message()
    del body["messageId"]
    assert code(await rpc(mesh, "SendMessage", {"message": body})) == INVALID_PARAMS
    async with httpx.AsyncClient(timeout=30) as c:  # nothing ran
        assert (await c.get(mesh.url + "/v1/runs")).json() == []


async def test_a_message_naming_an_unknown_task_is_task_not_found(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    answer = await rpc(mesh, "SendMessage", {"message": message(taskId="no-such-task")})
    assert code(answer) == TASK_NOT_FOUND, answer
    answer = await rpc(mesh, "SendStreamingMessage", {"message": message(taskId="no-such-task")})
    assert code(answer) == TASK_NOT_FOUND, answer


async def test_an_unsupported_media_type_is_content_type_not_supported(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    file_only = {
        "messageId": "m2",
        "role": "ROLE_USER",
        "parts": [{"raw": "VGVzdA==", "mediaType": "application/x-unsupported", "filename": "a.x"}],
    }
    answer = await rpc(mesh, "SendMessage", {"message": file_only})
    assert code(answer) == CONTENT_TYPE, answer
    assert "incompatible" in answer["error"]["message"].lower()
    output = {"message": message(), "configuration": {"acceptedOutputModes": ["image/png"]}}
    assert code(await rpc(mesh, "SendMessage", output)) == CONTENT_TYPE
    fine = {"message": message(), "configuration": {"acceptedOutputModes": ["text/*"]}}
    assert "result" in await rpc(mesh, "SendMessage", fine)


async def test_subscribing_to_a_finished_task_is_an_unsupported_operation(mesh: Mesh) -> None:
    task_id = await finished_task(mesh)
    async with asyncio.timeout(DEADLINE), httpx.AsyncClient(timeout=30) as c:
        r = await c.post(
            mesh.url + "/a2a",
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "SubscribeToTask",
                "params": {"id": task_id},
            },
            headers=HEADERS,
        )
    assert f'"code":{UNSUPPORTED}' in r.text.replace(" ", ""), r.text
    assert "TASK_STATE" not in r.text  # no snapshot, no replay


async def test_a_body_that_is_not_json_by_its_content_type_is_refused_before_anything_runs(
    mesh: Mesh,
) -> None:
    # A web page may POST text/plain (or a form, or a typeless Blob) across origins with no
    # CORS preflight: were such a body read as JSON, any page could start runs on an open
    # mesh. A2A 1.0 wants JSON (9.1, 11.1), and the error for the rest is 415.
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {"jsonrpc": "2.0", "id": 7, "method": "SendMessage", "params": {"message": message()}}
    raw = json.dumps(body).encode()
    rest_raw = json.dumps({"message": message()}).encode()
    async with httpx.AsyncClient(timeout=30) as c:
        for media in ("text/plain", "application/x-www-form-urlencoded", None):
            sent = {**HEADERS, **({"Content-Type": media} if media else {})}
            r = await c.post(mesh.url + "/a2a", content=raw, headers=sent)
            assert r.status_code == 415, (media, r.text)
            assert r.json()["error"]["code"] == CONTENT_TYPE and r.json()["id"] is None
            assert r.json()["error"]["data"][0]["reason"] == "CONTENT_TYPE_NOT_SUPPORTED"
            rest = await c.post(mesh.url + "/a2a/rest/message:send", content=rest_raw, headers=sent)
            assert rest.status_code == 415, (media, rest.text)
            assert rest.json()["error"]["details"][0]["reason"] == "CONTENT_TYPE_NOT_SUPPORTED"
        assert (await c.get(mesh.url + "/v1/runs")).json() == []  # nothing ran
        for media in ("application/json", "application/a2a+json; charset=utf-8"):
            sent = {**HEADERS, "Content-Type": media}
            ok = await c.post(mesh.url + "/a2a", content=raw, headers=sent)
            assert ok.status_code == 200 and "result" in ok.json(), ok.text


async def test_rest_errors_carry_the_http_status_of_the_specification(mesh: Mesh) -> None:
    # A2A 1.0 5.4: TaskNotCancelableError is 409, ContentTypeNotSupportedError 415 (the
    # a2a-sdk's REST routes answer 400 for both); TaskNotFoundError stays 404.
    task_id = await finished_task(mesh)
    unsupported = {
        "message": {
            "messageId": "m3",
            "role": "ROLE_USER",
            "parts": [{"raw": "VGVzdA==", "mediaType": "application/x-unsupported"}],
        }
    }
    async with httpx.AsyncClient(base_url=mesh.url + "/a2a/rest", timeout=30) as c:
        cancel = await c.post(f"/tasks/{task_id}:cancel", json={}, headers=HEADERS)
        media = await c.post("/message:send", json=unsupported, headers=HEADERS)
        missing = await c.get("/tasks/no-such-task", headers=HEADERS)
    assert cancel.status_code == 409, cancel.text
    assert cancel.json()["error"]["code"] == 409
    assert cancel.json()["error"]["details"][0]["reason"] == "TASK_NOT_CANCELABLE"
    assert media.status_code == 415 and media.json()["error"]["code"] == 415, media.text
    assert missing.status_code == 404, missing.text


async def test_the_card_says_how_long_to_keep_it_and_answers_an_unchanged_one_with_304(
    mesh: Mesh,
) -> None:
    # A2A 1.0 8.6: Cache-Control with max-age and an ETag (SHOULD), Last-Modified (MAY).
    async with httpx.AsyncClient(base_url=mesh.url, timeout=30) as c:
        first = await c.get("/.well-known/agent-card.json")
        assert first.status_code == 200 and first.json()["name"] == "agent mesh"
        assert "max-age=" in first.headers["cache-control"]
        etag = first.headers["etag"]
        assert first.headers["last-modified"].endswith("GMT")
        same = await c.get("/.well-known/agent-card.json", headers={"If-None-Match": etag})
        assert same.status_code == 304 and same.content == b""
        await mesh.register(writer_like(mesh.workers[0].url))  # a new skill: a new card
        changed = await c.get("/.well-known/agent-card.json", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert "text_generation" in [s["id"] for s in changed.json()["skills"]]


async def test_a_task_awaiting_approval_is_the_same_snapshot_to_every_reader(mesh: Mesh) -> None:
    # STREAM-ORDER-003: two SubscribeToTask streams of one task see the same events; the
    # status timestamp is when the status was recorded (A2A 1.0 4.1.2), not the read's time.
    await mesh.register(writer_like(mesh.workers[0].url))
    parked = {
        "message": {"messageId": "m4", "role": "ROLE_USER", "parts": [{"text": "wait"}]},
        "metadata": {
            "plan": {"tasks": [{"task_id": "t1", "capability": "text_generation", "input": {}}]},
            "options": {"approval": "required"},
        },
    }
    task = (await rpc(mesh, "SendMessage", parked))["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_INPUT_REQUIRED", task
    first = (await rpc(mesh, "GetTask", {"id": task["id"]}))["result"]
    second = (await rpc(mesh, "GetTask", {"id": task["id"]}))["result"]
    assert first["status"]["timestamp"] == second["status"]["timestamp"]
    subscribe = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "SubscribeToTask",
        "params": {"id": task["id"]},
    }

    async def first_event(c: httpx.AsyncClient) -> str:
        # the stream stays open while the task awaits its client: its first event
        async with c.stream("POST", mesh.url + "/a2a", json=subscribe, headers=HEADERS) as r:
            async for line in r.aiter_lines():
                if line.startswith("data:"):
                    return line
        raise AssertionError("the stream ended without an event")

    async with asyncio.timeout(DEADLINE), httpx.AsyncClient(timeout=30) as c:
        firsts = await asyncio.gather(first_event(c), first_event(c))
    assert firsts[0] == firsts[1] and "TASK_STATE_INPUT_REQUIRED" in firsts[0]


def parked(text: str = "wait", message_id: str = "m5") -> dict[str, Any]:
    """A message whose run awaits the client's approval (A2A INPUT_REQUIRED)."""
    return {
        "message": {"messageId": message_id, "role": "ROLE_USER", "parts": [{"text": text}]},
        "metadata": {
            "plan": {"tasks": [{"task_id": "t1", "capability": "text_generation", "input": {}}]},
            "options": {"approval": "required"},
        },
    }


def follow_up(task_id: str, text: str = "go on", **extra: Any) -> dict[str, Any]:
    return {
        "message": {
            "messageId": "m6",
            "role": "ROLE_USER",
            "parts": [{"text": text}],
            "taskId": task_id,
            **extra,
        }
    }


async def test_a_message_naming_a_task_awaiting_input_answers_it_and_the_task_goes_on(
    mesh: Mesh,
) -> None:
    # CORE-MULTI-005: a message with only the taskId continues the task, in its context.
    await mesh.register(writer_like(mesh.workers[0].url))
    task = (await rpc(mesh, "SendMessage", parked()))["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_INPUT_REQUIRED", task
    answer = await rpc(mesh, "SendMessage", follow_up(task["id"]))
    done = answer["result"]["task"]
    assert done["id"] == task["id"] and done["contextId"] == task["contextId"], answer
    assert done["status"]["state"] == "TASK_STATE_COMPLETED", done
    assert done["artifacts"], done
    # ended: the task takes no more messages (A2A 1.0 3.1.1: UnsupportedOperation)
    again = await rpc(mesh, "SendMessage", follow_up(task["id"], "once more"))
    assert code(again) == UNSUPPORTED, again


async def test_a_streamed_follow_up_streams_the_continued_task_to_its_end(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    task = (await rpc(mesh, "SendMessage", parked()))["result"]["task"]
    body = {"jsonrpc": "2.0", "id": 1, "method": "SendStreamingMessage"}
    async with asyncio.timeout(DEADLINE), httpx.AsyncClient(timeout=30) as c:
        r = await c.post(
            mesh.url + "/a2a", json={**body, "params": follow_up(task["id"])}, headers=HEADERS
        )
    states = [m.json()["result"] for m in SSEDecoder().feed(r.content)]
    assert states[0]["task"]["id"] == task["id"], states[0]
    last = states[-1].get("statusUpdate") or states[-1].get("task")
    assert last["status"]["state"] == "TASK_STATE_COMPLETED", states[-1]


async def test_a_rejecting_follow_up_ends_the_task_rejected(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    task = (await rpc(mesh, "SendMessage", parked()))["result"]["task"]
    reply = follow_up(task["id"])
    reply["message"]["parts"] = [{"data": {"approve": False, "reason": "not today"}}]
    done = (await rpc(mesh, "SendMessage", reply))["result"]["task"]
    assert done["status"]["state"] == "TASK_STATE_REJECTED", done
    assert mesh.worker(0).calls == []  # nothing of it ran


async def test_a_follow_up_with_another_context_or_to_a_running_task_is_refused(
    mesh: Mesh,
) -> None:
    # CORE-MULTI-006: a contextId that is not the task's is refused; the task still waits.
    await mesh.register(writer_like(mesh.workers[0].url))
    task = (await rpc(mesh, "SendMessage", parked()))["result"]["task"]
    wrong = await rpc(mesh, "SendMessage", follow_up(task["id"], contextId="someone-else"))
    assert code(wrong) == INVALID_PARAMS, wrong
    still = (await rpc(mesh, "GetTask", {"id": task["id"]}))["result"]
    assert still["status"]["state"] == "TASK_STATE_INPUT_REQUIRED", still
    bad_plan = follow_up(task["id"])
    bad_plan["message"]["parts"] = [{"data": {"plan": {"tasks": "nope"}}}]
    assert code(await rpc(mesh, "SendMessage", bad_plan)) == INVALID_PARAMS
    still = (await rpc(mesh, "GetTask", {"id": task["id"]}))["result"]
    assert still["status"]["state"] == "TASK_STATE_INPUT_REQUIRED", still


async def test_a_subscriber_of_a_task_awaiting_input_stays_until_a_follow_up_ends_it(
    mesh: Mesh,
) -> None:
    # STREAM-SUB-002: SubscribeToTask on an INPUT_REQUIRED task follows it to its end.
    await mesh.register(writer_like(mesh.workers[0].url))
    task = (await rpc(mesh, "SendMessage", parked()))["result"]["task"]
    subscribe = {"jsonrpc": "2.0", "id": 1, "method": "SubscribeToTask"}

    async def follow() -> str:
        async with httpx.AsyncClient(timeout=30) as c:
            r = await c.post(
                mesh.url + "/a2a", json={**subscribe, "params": {"id": task["id"]}}, headers=HEADERS
            )
        return r.text

    async with asyncio.timeout(DEADLINE):
        stream = asyncio.create_task(follow())
        await asyncio.sleep(0.5)
        assert not stream.done()  # still open while the task awaits its client
        answer = await rpc(mesh, "SendMessage", follow_up(task["id"]))
        assert answer["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"
        text = await stream
    results = [m.json()["result"] for m in SSEDecoder().feed(text.encode())]
    assert results[0]["task"]["status"]["state"] == "TASK_STATE_INPUT_REQUIRED", results[0]
    last = results[-1].get("statusUpdate") or results[-1].get("task")
    assert last["status"]["state"] == "TASK_STATE_COMPLETED", results[-1]


async def test_a_tasks_plan_metadata_names_its_fields_in_camel_case(mesh: Mesh) -> None:
    # DM-SERIAL-001: the JSON of a task uses camelCase names (A2A 1.0 5.5), the mesh's plan
    # in metadata.mesh too; what the client wrote in a task's input stays as written.
    await mesh.register(writer_like(mesh.workers[0].url))
    plan = {"tasks": [{"task_id": "t1", "capability": "text_generation",
                       "input": {"prompt": "x", "my_key": 1}, "requires": {"min_vram_mb": 0}}]}  # fmt: skip
    sent = {
        "messageId": "m7",
        "role": "ROLE_USER",
        "parts": [{"text": "hi"}, {"data": {"plan": plan}}],
    }
    task = (await rpc(mesh, "SendMessage", {"message": sent}))["result"]["task"]
    [node] = task["metadata"]["mesh"]["plan"]
    assert node["taskId"] == "t1" and node["dependsOn"] == [] and node["status"] == "completed"
    assert node["requires"]["minVramMb"] == 0 and node["input"] == {"prompt": "x", "my_key": 1}
    assert not [k for k in node if "_" in k] and not [k for k in node["requires"] if "_" in k]
