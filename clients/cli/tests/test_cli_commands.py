"""The ``mesh`` commands against a fake orchestrator and a fake discovery, each served by
uvicorn on a loopback port (a real streaming transport), with canned events shaped like the
orchestrator API."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from rich.console import Console

from mesh_cli.ask import Interrupt, JsonSink
from mesh_cli.ask import ask as ask_command
from mesh_cli.board import LaneBoard
from mesh_cli.client import MeshClient
from mesh_cli.commands import main
from mesh_contracts import SSE_HEADERS, AgentDescriptor, AgentRecord, StreamEvent, encode_event
from mesh_testkit import free_port, wait_until

DEFAULT_PLAN = {"tasks": [
    {"task_id": "draft", "capability": "text_generation"},
    {"task_id": "image", "capability": "image_generation"},
]}  # fmt: skip


class FakeOrchestrator:
    """Answers like the orchestrator API with canned runs; records what the CLI sent.

    Query ``hang``: one token, then waits for ``POST /cancel`` and ends ``cancelled``.
    Query ``drop``: the stream closes after seq 5 (no ``done``); the rest is replayable.
    Query ``not sse``: a 200 JSON answer instead of an event stream.
    Query ``garbled``: one frame whose data is not a StreamEvent.
    Option ``approval: required``: the stream ends after ``run``, ``plan`` and the
    ``awaiting_approval`` status; ``/approve`` adds the rest of the run, ``/reject`` its end.
    """

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.cancels: list[str] = []
        self.follows: list[str | None] = []
        self.runs: dict[str, list[StreamEvent]] = {}
        self.cancelled: dict[str, asyncio.Event] = {}
        self.decisions: list[tuple[str, str]] = []
        self.decision_bodies: list[bytes] = []
        self.parked: dict[str, list[StreamEvent]] = {}  # what an approval would add
        self.app = self._build()

    def _events(self, run_id: str, query: str, plan: dict[str, Any] | None) -> list[StreamEvent]:
        rows: list[tuple[str, str | None, str | None, dict[str, Any]]] = [
            ("run", None, None, {"run_id": run_id, "query": query, "status": "running"}),
            ("plan", None, None, {"plan": plan or DEFAULT_PLAN,
                                  "planner": "client" if plan else "deterministic", "reason": "r"}),
            ("status", "draft", "writer", {"status": "running", "agent_id": "writer",
                                            "instance_id": "writer-1", "endpoint": "http://w"}),
            ("token", "draft", "writer", {"token": "Hel"}),
            ("token", "draft", "writer", {"token": "lo"}),
            ("status", "image", "image-gen", {"status": "running", "agent_id": "image-gen",
                                               "instance_id": "ig-1", "endpoint": "http://i"}),
            ("progress", "image", "image-gen", {"step": 2, "total": 4}),
            ("artifact", "image", "image-gen", {"name": "card.png", "url": "http://i/card.png"}),
            ("result", "draft", "writer", {"output": "Hello"}),
            ("status", "draft", "writer", {"status": "completed"}),
            ("status", "image", "image-gen", {"status": "completed"}),
            ("result", None, None, {"answer": "Hello, world", "status": "completed", "results": {}}),
            ("done", None, None, {"status": "completed"}),
        ]  # fmt: skip
        return [
            StreamEvent(run_id=run_id, seq=i, type=t, task_id=task, agent_id=a, data=d)  # type: ignore[arg-type]
            for i, (t, task, a, d) in enumerate(rows, start=1)
        ]

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/orchestrate/stream")
        async def orchestrate(request: Request) -> Any:
            body = await request.json()
            self.bodies.append(body)
            query = body.get("query") or ""
            if not query.strip() and not body.get("plan"):
                return JSONResponse(
                    {
                        "detail": [
                            {"loc": ["body", "query"], "msg": "Value error, must not be blank"}
                        ]
                    },
                    422,
                )
            if query == "not sse":
                return JSONResponse({"answer": "no stream here"})
            run_id = f"run-{len(self.bodies)}"
            events = self._events(run_id, query, body.get("plan"))
            if (body.get("options") or {}).get("approval") == "required":
                waiting = StreamEvent(run_id=run_id, seq=3, type="status",
                                      data={"phase": "approval", "status": "awaiting_approval"})  # fmt: skip
                self.parked[run_id] = [
                    ev.model_copy(update={"seq": ev.seq + 1}) for ev in events[2:]
                ]
                events = [*events[:2], waiting]
            self.runs[run_id] = events
            self.cancelled[run_id] = asyncio.Event()
            return StreamingResponse(
                self._stream(run_id, query, events),
                media_type="text/event-stream",
                headers={**SSE_HEADERS, "Content-Location": f"/v1/runs/{run_id}"},
            )

        @app.post("/v1/runs/{run_id}/cancel")
        async def cancel(run_id: str) -> Any:
            if run_id not in self.runs:
                return JSONResponse({"detail": f"run {run_id!r} not found"}, 404)
            self.cancels.append(run_id)
            self.cancelled[run_id].set()
            return JSONResponse({"run_id": run_id, "status": "cancelling"}, 202)

        @app.post("/v1/runs/{run_id}/{action}")
        async def decide(run_id: str, action: str, request: Request) -> Any:
            self.decision_bodies.append(await request.body())
            rest = self.parked.pop(run_id, None)
            if rest is None:
                return JSONResponse({"detail": "does not await approval", "status": "x"}, 409)
            self.decisions.append((run_id, action))
            if action == "reject":
                rest = [
                    StreamEvent(run_id=run_id, seq=4, type="status",
                                data={"phase": "approval", "status": "rejected"}),
                    StreamEvent(run_id=run_id, seq=5, type="done", data={"status": "rejected"}),
                ]  # fmt: skip
            self.runs[run_id] = [*self.runs[run_id], *rest]
            return JSONResponse({"run_id": run_id, "status": "running"}, 202)

        @app.get("/v1/runs/{run_id}/events")
        async def follow(run_id: str, request: Request) -> Any:
            after = int(request.headers.get("last-event-id") or 0)
            self.follows.append(request.headers.get("last-event-id"))
            events = [ev for ev in self.runs[run_id] if ev.seq > after]
            frames = [encode_event(ev, id=ev.seq) for ev in events]
            return StreamingResponse(iter(frames), media_type="text/event-stream")

        @app.post("/v1/threads")
        async def new_thread() -> Any:
            return JSONResponse({"thread_id": "th-1", "owner": None, "created_at": 1.0}, 201)

        @app.get("/v1/threads/{thread_id}")
        async def thread(thread_id: str) -> Any:
            if thread_id != "th-1":
                return JSONResponse({"detail": f"unknown thread {thread_id!r}"}, 404)
            mine = [b for b in self.bodies if b.get("thread_id") == thread_id]
            return {"thread_id": thread_id, "runs": [
                {"run_id": f"run-{n}", "query": b["query"], "status": "completed",
                 "created_at": 1.0, "finished_at": 2.0, "answer": "Hello, world"}
                for n, b in enumerate(mine, 1)]}  # fmt: skip

        @app.get("/v1/runs")
        async def runs(limit: int = 20) -> Any:
            return [
                {"run_id": r, "query": "q " + r, "status": "completed",
                 "created_at": 1_700_000_000.0, "finished_at": 1_700_000_001.5}
                for r in reversed(self.runs)
            ][:limit]  # fmt: skip

        @app.get("/v1/runs/{run_id}")
        async def run(run_id: str) -> Any:
            if run_id not in self.runs:
                return JSONResponse({"detail": f"run {run_id!r} not found"}, 404)
            plan = [{**t, "status": "completed", "assigned_agent": "writer", "output": "Hello",
                     "depends_on": []} for t in DEFAULT_PLAN["tasks"]]  # fmt: skip
            return {"run_id": run_id, "query": "q", "status": "completed", "created_at": 1.0,
                    "finished_at": 2.0, "plan": plan, "answer": "Hello, world", "last_seq": 13}  # fmt: skip

        return app

    async def _stream(
        self, run_id: str, query: str, events: list[StreamEvent]
    ) -> AsyncIterator[bytes]:
        if query == "hang":
            for ev in events[:4]:
                yield encode_event(ev, id=ev.seq)
            await asyncio.wait_for(self.cancelled[run_id].wait(), 20)
            for seq, (t, task, data) in enumerate(
                [("status", "draft", {"status": "skipped", "reason": "cancelled"}),
                 ("done", None, {"status": "cancelled"})], start=5):  # fmt: skip
                ev = StreamEvent(run_id=run_id, seq=seq, type=t, task_id=task, data=data)  # type: ignore[arg-type]
                yield encode_event(ev, id=seq)
            return
        if query == "garbled":
            yield encode_event({"type": "token", "seq": "first"}, id=1)
            return
        for ev in events[:5] if query == "drop" else events:
            yield encode_event(ev, id=ev.seq)


def fake_discovery() -> FastAPI:
    app = FastAPI()
    gpu = {"gpu": True, "gpu_count": 1, "gpu_model": "NVIDIA H100", "vram_mb": 81920}
    records = [
        AgentRecord(descriptor=AgentDescriptor(agent_id="writer", instance_id="writer-1",
                    endpoint="http://127.0.0.1:8001", capabilities=["text_generation"],
                    streaming_mode="dynamic_events"), registered_at=1.0, last_heartbeat=1.0),
        AgentRecord(descriptor=AgentDescriptor(agent_id="image-gen", instance_id="ig-1",
                    endpoint="http://127.0.0.1:8004", capabilities=["image_generation"],
                    streaming_mode="dynamic_events", resources=gpu),  # type: ignore[arg-type]
                    status="critical", registered_at=1.0, last_heartbeat=1.0),
    ]  # fmt: skip

    @app.get("/v1/agents")
    async def agents(healthy: str | None = None) -> Any:
        keep = [r for r in records if healthy != "true" or r.healthy]
        return [r.model_dump(mode="json") for r in keep]

    return app


def serve(app: FastAPI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=10, what="fake server")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def orch() -> Iterator[tuple[FakeOrchestrator, str]]:
    fake = FakeOrchestrator()
    for url in serve(fake.app):
        yield fake, url


@pytest.fixture(scope="module")
def disco() -> Iterator[str]:
    yield from serve(fake_discovery())


def cli(*argv: str, url: str = "", discovery: str = "") -> tuple[int, str, str]:
    out = Console(file=io.StringIO(), width=120, color_system=None)
    err = Console(file=io.StringIO(), width=400, color_system=None)
    flags = [*(["--url", url] if url else []), *(["--discovery", discovery] if discovery else [])]
    rc = main([*flags, *argv], out=out, err=err)
    return rc, out.file.getvalue(), err.file.getvalue()  # type: ignore[attr-defined]


def test_ask_json_prints_every_event_as_one_json_line_in_seq_order(orch) -> None:
    fake, url = orch
    rc, out, err = cli("ask", "say hello", "--json", url=url)
    events = [json.loads(line) for line in out.splitlines()]
    assert rc == 0, err
    assert [e["seq"] for e in events] == list(range(1, 14))
    assert events[0]["type"] == "run" and events[-1] == {**events[-1], "type": "done"}
    assert fake.bodies[-1] == {
        "query": "say hello",
        "plan": None,
        "options": {"on_disconnect": "cancel"},
    }


def test_ask_shows_lanes_and_the_final_answer(orch) -> None:
    _, url = orch
    rc, out, _ = cli("ask", "say hello", url=url)
    assert rc == 0
    for needle in ("draft", "writer", "Hello", "image-gen", "2/4", "card.png", "Hello, world"):
        assert needle in out, needle
    assert any(line.startswith("╭─ answer · completed") for line in out.splitlines()), out


def test_ask_with_a_plan_file_sends_the_validated_plan(orch, tmp_path: Path) -> None:
    fake, url = orch
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"tasks": [{"task_id": "only", "capability": "text_generation"}]}))
    rc, _, _ = cli("ask", "--plan", str(plan), "--json", url=url)
    assert rc == 0
    sent = fake.bodies[-1]
    assert sent["query"] == "" and sent["plan"]["tasks"][0]["task_id"] == "only"


def test_a_cyclic_plan_file_is_refused_locally_in_one_line(orch, tmp_path: Path) -> None:
    fake, url = orch
    sent_before = len(fake.bodies)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"tasks": [
        {"task_id": "a", "capability": "search", "depends_on": ["b"]},
        {"task_id": "b", "capability": "search", "depends_on": ["a"]}]}))  # fmt: skip
    rc, _, err = cli("ask", "q", "--plan", str(plan), url=url)
    assert rc == 1 and "dependency cycle" in err and err.count("\n") == 1
    assert len(fake.bodies) == sent_before


def test_a_422_from_the_orchestrator_is_reported_in_one_line_naming_the_field(orch) -> None:
    _, url = orch
    rc, _, err = cli("ask", "   ", url=url)
    assert rc == 1
    assert err.strip() == "mesh: error: orchestrator answered 422: query: must not be blank"


def test_an_answer_that_is_not_an_event_stream_is_one_line_not_a_retry(orch) -> None:
    fake, url = orch
    rc, _, err = cli("ask", "not sse", url=url)
    assert rc == 1 and err.count("\n") == 1
    assert err.startswith("mesh: error: orchestrator answered ") and "no event stream" in err
    assert "'application/json'" in err and fake.bodies[-1]["query"] == "not sse"


def test_a_frame_that_is_not_a_stream_event_is_one_line_naming_the_field(orch) -> None:
    fake, url = orch
    follows_before = len(fake.follows)
    rc, _, err = cli("ask", "garbled", "--json", url=url)
    assert rc == 1 and err.count("\n") == 1
    assert err.startswith("mesh: error: orchestrator sent a malformed event: ('run_id',)")
    assert len(fake.follows) == follows_before  # not resumed: the same frame would come back


def test_an_unreachable_orchestrator_is_one_clear_line(orch) -> None:
    rc, _, err = cli("runs", url=f"http://127.0.0.1:{free_port()}")
    assert rc == 1 and err.count("\n") == 1
    assert err.startswith("mesh: error: cannot reach orchestrator at http://127.0.0.1:")


async def test_interrupt_cancels_the_run_and_exits_130(orch) -> None:
    fake, url = orch
    seen_token = asyncio.Event()

    class Sink(JsonSink):
        def event(self, ev: StreamEvent, board: LaneBoard) -> None:
            super().event(ev, board)
            if ev.type == "token":
                seen_token.set()

    out, interrupt = io.StringIO(), Interrupt()
    async with MeshClient(url, url) as client:
        body: dict[str, Any] = {"query": "hang", "plan": None, "options": {}}
        err = Console(file=io.StringIO())
        running = asyncio.create_task(
            ask_command(
                client,
                body=body,
                resume=None,
                after=0,
                sink=Sink(out),
                interrupt=interrupt,
                err=err,
            )
        )
        await asyncio.wait_for(seen_token.wait(), 10)
        interrupt.signal()
        rc = await asyncio.wait_for(running, 10)
    assert rc == 130
    run_id = json.loads(out.getvalue().splitlines()[0])["run_id"]
    assert fake.cancels[-1] == run_id
    last = json.loads(out.getvalue().splitlines()[-1])
    assert last["type"] == "done" and last["data"] == {"status": "cancelled"}


def test_ctrl_c_on_the_real_process_posts_the_cancel(orch) -> None:
    fake, url = orch
    with subprocess.Popen(
        [sys.executable, "-m", "mesh_cli", "--url", url, "ask", "hang", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ},
    ) as proc:  # fmt: skip
        try:
            assert proc.stdout is not None and proc.stderr is not None
            for line in proc.stdout:  # ends at EOF if the process dies
                if json.loads(line)["type"] == "token":
                    break
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(15)
            errors = proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert rc == 130, errors
    assert fake.cancels and fake.cancels[-1].startswith("run-")


def test_resume_follows_the_run_from_last_event_id(orch) -> None:
    fake, url = orch
    cli("ask", "first", "--json", url=url)
    run_id = next(reversed(fake.runs))
    rc, out, _ = cli("ask", "--resume", run_id, "--after", "10", "--json", url=url)
    assert rc == 0 and fake.follows[-1] == "10"
    assert [json.loads(line)["seq"] for line in out.splitlines()] == [11, 12, 13]


def test_a_dropped_stream_is_resumed_from_the_last_seq_seen(orch) -> None:
    fake, url = orch
    rc, out, _ = cli("ask", "drop", "--json", url=url)
    assert rc == 0 and fake.follows[-1] == "5"
    assert [json.loads(line)["seq"] for line in out.splitlines()] == list(range(1, 14))


def test_agents_lists_discovery_instances_with_mode_health_and_gpu(orch, disco) -> None:
    _, url = orch
    rc, out, _ = cli("agents", url=url, discovery=disco)
    assert rc == 0
    for needle in ("writer-1", "image-gen", "dynamic_events", "text_generation", "passing",
                   "critical", "NVIDIA H100 80 GiB"):  # fmt: skip
        assert needle in out, needle
    rc, out, _ = cli("agents", "--healthy", "--json", url=url, discovery=disco)
    assert [r["descriptor"]["instance_id"] for r in json.loads(out)] == ["writer-1"]


def test_runs_and_run_show_the_orchestrators_records(orch) -> None:
    fake, url = orch
    cli("ask", "listed", "--json", url=url)
    run_id = next(reversed(fake.runs))
    rc, out, _ = cli("runs", url=url)
    assert rc == 0 and run_id in out and "completed" in out
    rc, out, _ = cli("run", run_id, url=url)
    assert rc == 0 and "writer" in out and "Hello, world" in out and "image_generation" in out
    rc, out, _ = cli("run", run_id, "--json", url=url)
    assert json.loads(out)["last_seq"] == 13


def test_ask_on_a_new_thread_then_a_follow_up_and_the_thread_shows_both(orch) -> None:
    fake, url = orch
    rc, _, err = cli("ask", "write two paragraphs", "--thread", "new", "--json", url=url)
    assert rc == 0 and "thread th-1" in err
    assert fake.bodies[-1]["thread_id"] == "th-1"
    assert fake.bodies[-1]["multitask_strategy"] == "enqueue"
    rc, _, _ = cli(
        "ask", "translate that", "--thread", "th-1", "--multitask", "reject", "--json", url=url
    )
    assert rc == 0 and fake.bodies[-1]["multitask_strategy"] == "reject"
    rc, out, _ = cli("thread", "th-1", url=url)
    assert rc == 0 and "2 run(s)" in out
    assert "write two paragraphs" in out and "translate that" in out
    rc, _, err = cli("thread", "nope", url=url)
    assert rc == 1 and "404" in err


def test_an_unknown_run_is_a_404_line(orch) -> None:
    _, url = orch
    rc, _, err = cli("run", "nope", url=url)
    assert rc == 1 and err.strip() == "mesh: error: orchestrator answered 404: run 'nope' not found"


@pytest.mark.parametrize(
    "argv",
    [
        [sys.executable, "-m", "mesh_cli", "--help"],
        [str(Path(sys.executable).parent / "mesh"), "--help"],
    ],
    ids=["python -m mesh_cli", "mesh console script"],
)
def test_the_cli_starts_as_a_module_and_as_the_console_script(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: mesh ")
    commands = re.findall(r"^ {4}(\w+) ", done.stdout, re.MULTILINE)
    assert commands == [
        "ask",
        "agents",
        "runs",
        "run",
        "approve",
        "reject",
        "thread",
        "pause",
        "resume",
        "workflow",
        "keys",
        "token",
        "certs",
    ]


@pytest.mark.parametrize("command", ["ask", "agents", "runs", "run", "approve", "reject"])
def test_every_command_has_help_naming_the_url_it_would_use(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESH_URL", "http://orch.example:8000")
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert out.startswith(f"usage: mesh {command} ") and "http://orch.example:8000" in out


def test_approve_sends_the_decision_on_tasks_in_doubt_and_reject_ends_the_run(orch) -> None:
    fake, url = orch
    for run_id in ("r-doubt", "r-other"):
        fake.runs[run_id], fake.parked[run_id] = [], []
    rc, out, err = cli("approve", "r-doubt", "--decision", "fail", url=url)
    assert rc == 0, err
    assert "r-doubt: running" in out
    assert json.loads(fake.decision_bodies[-1]) == {"decision": "fail"}
    rc, out, err = cli("reject", "r-other", url=url)
    assert rc == 0, err
    assert fake.decisions[-1] == ("r-other", "reject") and fake.decision_bodies[-1] == b""
    rc, _, err = cli("approve", "r-doubt", url=url)  # no longer parked: the 409 is said
    assert rc == 1 and "does not await approval" in err


def test_ask_approve_yes_shows_the_plan_approves_and_follows_the_run_to_its_end(orch) -> None:
    fake, url = orch
    rc, out, err = cli("ask", "say hello", "--approve", "--yes", "--json", url=url)
    assert rc == 0, err
    assert fake.bodies[-1]["options"]["approval"] == "required"
    run_id = f"run-{len(fake.bodies)}"
    assert fake.decisions[-1] == (run_id, "approve")
    assert "draft" in err and "text_generation" in err and "approved (--yes)" in err
    events = [json.loads(line) for line in out.splitlines()]
    assert events[2]["data"]["status"] == "awaiting_approval"
    assert events[-1]["type"] == "done" and events[-1]["data"]["status"] == "completed"
    assert [e["seq"] for e in events] == sorted({e["seq"] for e in events})  # none twice


@pytest.mark.parametrize(
    ("answer", "decision", "rc"), [("y\n", "approve", 0), ("n\n", "reject", 1), ("", "reject", 1)]
)
def test_ask_approve_asks_and_a_no_rejects_the_run(orch, monkeypatch, answer, decision, rc) -> None:
    fake, url = orch
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    got, out, err = cli("ask", "say hello", "--approve", url=url)
    assert got == rc, err
    assert "run this plan? [y/N]" in err
    assert fake.decisions[-1] == (f"run-{len(fake.bodies)}", decision)
    final = "completed" if decision == "approve" else "rejected"
    assert any(line.startswith(f"╭─ answer · {final}") for line in out.splitlines()), out
