"""What round 8 cut from a run's CPU keeps its behaviour (bench/README.md, "Round 8").

Each test fails with its cut made wrong: the executor's back-off without tenacity's loop,
one task run in the run's own task, the plan event built without re-validating the plan,
the projection reading the record's plan only when asked, the stream URL parsed once, the
SQLite outbox's key reads on the loop's thread, uvicorn's access log only where it prints,
a run's last events and the end of its stream's body in one message, the planner's
manifest built once per state of the registry cache.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from orch_fakes import writer_like

from mesh_contracts import ExecutionPlan, NodeStatus, PlanChosen, TaskStatus
from mesh_orchestrator.__main__ import access_log
from mesh_orchestrator.api.sse import RunStream
from mesh_orchestrator.graph.nodes import _chosen
from mesh_orchestrator.relay.calls import TaskOutcome
from mesh_orchestrator.relay.executor import Executor, _TryAgain
from mesh_orchestrator.relay.worker_client import WorkerUnreachable, stream_url
from mesh_orchestrator.routing.registry import DiscoveryClient
from mesh_orchestrator.runs.events import RelayedEvent
from mesh_orchestrator.runs.mux import Subscription
from mesh_orchestrator.runs.projection import RunProjection
from mesh_orchestrator.runs.store import SQLiteRunStore
from mesh_orchestrator.runs.store.base import RunRecord
from mesh_orchestrator.runs.store.outbox import PushConfig, outbox_store


def _plan(*tasks: dict[str, Any]) -> ExecutionPlan:
    return ExecutionPlan.model_validate({"tasks": list(tasks)})


class _Events:
    """An emitter that keeps what it is given (a fake, for these unit tests)."""

    def __init__(self) -> None:
        self.emitted: list[tuple[Any, str | None]] = []

    def emit(self, payload: Any, task_id: str | None = None, agent_id: str | None = None) -> None:
        self.emitted.append((payload, task_id))

    def relay(self, *args: Any) -> None: ...

    def relay_many(self, *args: Any) -> None: ...

    async def persisted(self) -> bool:
        return True


class _FakeResolver:
    """Two instances of one writer, picked in order (a fake)."""

    def __init__(self) -> None:
        self.agents = [
            writer_like("http://w0", instance="w0"),
            writer_like("http://w1", instance="w1"),
        ]
        self.failures: list[str] = []

    def pick(self, t: Any, exclude: Any = ()) -> Any:
        left = [r.descriptor for r in self.agents if r.descriptor.instance_id not in exclude]
        return left[0] if left else None

    def why_not(self, t: Any) -> str:
        return "none left"

    def failed(self, instance_id: str, reason: str) -> None:
        self.failures.append(instance_id)


class _FakeCalls:
    """Worker calls that fail on ``w0`` (unreachable) and complete on ``w1``, or block
    until cancelled (``block``): a fake."""

    def __init__(self, block: bool = False, want: int = 1) -> None:
        self.resolver = _FakeResolver()
        self.block = block
        self.want = want  # ``started`` is set once this many calls were made
        self.started = asyncio.Event()
        self.tried: list[str] = []
        self.cancelled = asyncio.Event()
        self.thread: list[asyncio.Task[Any] | None] = []

    async def traced_call(self, tracer: Any, t: Any, d: Any, request: Any, emit: Any,
                          attempt: int, others: Any, previous: Any) -> TaskOutcome:  # fmt: skip
        self.tried.append(d.instance_id)
        self.thread.append(asyncio.current_task())
        if len(self.tried) >= self.want:
            self.started.set()
        if self.block:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        if d.instance_id == "w0":
            raise WorkerUnreachable("refused")
        return TaskOutcome("completed", "ok", agent_id=d.agent_id, instance_id=d.instance_id,
                           attempt=attempt)  # fmt: skip


def test_the_back_off_is_tenacitys_jittered_exponential_and_a_busy_wait_is_taken_as_it_is() -> None:
    ex = Executor(_FakeCalls(), backoff_initial=0.05, backoff_max=2.0)  # type: ignore[arg-type]
    assert ex._pause(_TryAgain(busy_wait=1.5), 1) == 1.5
    assert ex._pause(_TryAgain(busy_wait=0.0), 7) == 0.0
    for rounds, low in ((1, 0.05), (2, 0.1), (3, 0.2), (4, 0.4)):
        wait = ex._pause(_TryAgain(), rounds)
        assert low <= wait <= low + 0.05  # multiplier * 2**(n-1) + jitter in [0, 0.05]
    assert ex._pause(_TryAgain(), 30) == 2.0  # the cap


async def test_an_unreachable_replica_is_tried_again_on_the_next_after_a_back_off() -> None:
    calls = _FakeCalls()
    ex = Executor(calls, backoff_initial=0.001, backoff_max=0.01)  # type: ignore[arg-type]
    events = _Events()
    plan = _plan({"task_id": "t", "capability": "text_generation"})
    out = await ex.run(plan, events, run_id="r")  # type: ignore[arg-type]
    assert out["t"].status == "completed" and out["t"].instance_id == "w1"
    assert calls.tried == ["w0", "w1"]
    assert calls.resolver.failures == ["w0"]
    assert out["t"].attempt == 1  # never reached w0: the same attempt, elsewhere


async def test_one_task_runs_in_the_runs_own_task_and_is_cancelled_with_it() -> None:
    calls = _FakeCalls(block=True)
    ex = Executor(calls)  # type: ignore[arg-type]
    plan = _plan({"task_id": "t", "capability": "text_generation"})
    run = asyncio.create_task(ex.run(plan, _Events(), run_id="r"))  # type: ignore[arg-type]
    await asyncio.wait_for(calls.started.wait(), 5)
    assert calls.thread == [run]  # no task of its own
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert calls.cancelled.is_set()  # its call was cancelled (its worker stream closes)


async def test_two_tasks_still_run_side_by_side() -> None:
    calls = _FakeCalls(block=True, want=2)
    ex = Executor(calls)  # type: ignore[arg-type]
    plan = _plan(
        {"task_id": "a", "capability": "text_generation"},
        {"task_id": "b", "capability": "text_generation"},
    )
    run = asyncio.create_task(ex.run(plan, _Events(), run_id="r"))  # type: ignore[arg-type]
    await asyncio.wait_for(calls.started.wait(), 5)  # both started while neither finished
    assert run not in calls.thread and calls.thread[0] is not calls.thread[1]
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run


def test_the_plan_event_is_what_the_validated_payload_says() -> None:
    plan = _plan(
        {"task_id": "a", "capability": "text_generation", "input": {"prompt": "x"}},
        {"task_id": "b", "capability": "summarization", "depends_on": ["a"], "when": "true"},
    )
    built = _chosen(plan, "semantic", "because")
    assert built.data() == PlanChosen(plan=plan, planner="semantic", reason="because").data()
    assert built.TYPE == "plan"


def test_the_projection_reads_the_records_plan_as_it_was_when_first_asked() -> None:
    plan = _plan({"task_id": "a", "capability": "text_generation"})
    record = RunRecord(run_id="r", query="q", created_at=0.0)
    record.plan = [t.model_dump(mode="json") for t in plan.tasks]
    projection = RunProjection(record)
    events = [("status", TaskStatus(status=NodeStatus.RUNNING, agent_id="w").data(), "a", 5.0)]
    for type_, data, task_id, ts in events:  # no plan event first (a run taken up again)
        assert projection.apply(type_, data, task_id, ts)
    assert record.plan is not None and record.plan[0]["status"] == "running"
    assert record.plan[0]["started_at"] == 5.0
    assert [n.task_id for n in projection.unfinished()] == ["a"]
    # A plan event makes the nodes anew, whatever the record held.
    chosen = _chosen(_plan({"task_id": "z", "capability": "text_generation"}), "p", "")
    assert projection.apply("plan", chosen.data(), None, 6.0)
    assert list(projection.nodes) == ["z"] and record.plan[0]["task_id"] == "z"


def test_a_record_without_a_plan_has_no_nodes_until_its_plan_event() -> None:
    projection = RunProjection(RunRecord(run_id="r", query="q", created_at=0.0))
    assert projection.nodes == {}
    assert not projection.apply("status", {"status": "running"}, "a", 1.0)


def test_a_stream_url_is_parsed_once_and_is_httpxs() -> None:
    url = "http://127.0.0.1:1234/stream"
    assert stream_url(url) is stream_url(url)
    assert stream_url(url) == httpx.URL(url)


@pytest.mark.parametrize(
    ("level", "kept"),
    [("trace", True), ("debug", True), ("info", True), ("INFO", True), ("warning", False),
     ("error", False), ("critical", False)],
)  # fmt: skip
def test_uvicorns_access_log_is_kept_only_where_it_prints(level: str, kept: bool) -> None:
    assert access_log(level) is kept


async def test_sqlite_push_configs_are_read_on_the_loops_thread(tmp_path: Path) -> None:
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await store.open()
    try:
        outbox = outbox_store(store)
        await outbox.open()
        await outbox.set_push(PushConfig(task_id="r1", config_id="c1", url="http://a"))
        await outbox.set_push(PushConfig(task_id="r2", config_id="c1", url="http://b"))
        await outbox.set_default("alice", "http://hook", "s")
        db = store.db
        handed: list[int] = []
        real = db._execute

        async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
            handed.append(threading.get_ident())
            return await real(fn, *args, **kwargs)

        db._execute = counted  # type: ignore[method-assign]
        found = await outbox.push_of(["r1", "r2", "r3"])
        assert {k: [c.url for c in v] for k, v in found.items()} == {
            "r1": ["http://a"],
            "r2": ["http://b"],
        }
        assert await outbox.get_default("alice") == ("http://hook", "s")
        assert await outbox.get_default("bob") is None
        assert handed == []  # no hand-off to aiosqlite's thread
    finally:
        await store.close()


class _Client:
    """The server side of one ASGI request: what the response sent (a fake)."""

    def __init__(self) -> None:
        self.scope: dict[str, Any] = {"type": "http", "method": "POST", "headers": []}
        self.sent: list[dict[str, Any]] = []
        self.wrote = asyncio.Event()  # a body message was sent

    async def receive(self) -> dict[str, Any]:
        await asyncio.Event().wait()  # the client never leaves
        raise AssertionError("unreachable")

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body":
            self.wrote.set()


def _token(seq: int) -> RelayedEvent:
    return RelayedEvent("r", seq, "token", "t", "w", {"token": f"w{seq}"}, 1.0)


async def test_a_runs_last_events_end_the_body_in_the_same_message() -> None:
    sub, client = Subscription([_token(1)]), _Client()
    stream = RunStream(sub, ping_seconds=5.0, on_end=lambda: None)
    task = asyncio.create_task(stream(client.scope, client.receive, client.send))
    await asyncio.wait_for(client.wrote.wait(), 5)  # the first event, while the run goes on
    sub.push(_token(2))
    sub.push(_token(3))
    sub.close()  # the run ended
    await asyncio.wait_for(task, 5)
    bodies = [m for m in client.sent if m["type"] == "http.response.body"]
    assert [m["more_body"] for m in bodies] == [True, False]  # no empty message to end it
    assert b"id: 1\n" in bodies[0]["body"] and b"id: 3\n" in bodies[1]["body"]


async def test_a_reader_that_fell_behind_still_gets_its_notice_before_the_end() -> None:
    sub, client = Subscription([], limit=1), _Client()
    stream = RunStream(sub, ping_seconds=5.0, on_end=lambda: None)
    sub.push(_token(1))
    sub.push(_token(2))  # past the limit: let go
    await asyncio.wait_for(stream(client.scope, client.receive, client.send), 5)
    bodies = [m for m in client.sent if m["type"] == "http.response.body"]
    assert bodies[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert b"fell behind" in b"".join(m["body"] for m in bodies)


async def test_the_manifest_is_built_once_per_state_of_the_registry_cache() -> None:
    async with httpx.AsyncClient() as http:
        cache = DiscoveryClient("http://discovery", http)
        cache.set_records([writer_like("http://w0", instance="w0")], 1)
        first = cache.manifest()
        assert cache.manifest() is first and first.index == 1
        assert first.names() == ["summarization", "text_generation"]
        cache.index = 2  # a watch's answer with no change moves the index alone
        assert cache.manifest() is not first and cache.manifest().index == 2
        more = [
            writer_like("http://w0", instance="w0"),
            writer_like("http://l", agent_id="lookup", capabilities=["lookup"]),
        ]
        cache.set_records(more, 3)
        assert cache.manifest().names() == ["lookup", "summarization", "text_generation"]
        cache.set_records([], 4)
        assert cache.manifest().capabilities == []


async def test_a_runs_first_steps_go_out_with_its_run_event() -> None:
    sub, client = Subscription([_token(1)]), _Client()

    async def run() -> None:  # the run's task: its first steps, up to its first wait
        sub.push(_token(2))
        await asyncio.Event().wait()

    driving: list[asyncio.Task[None]] = []

    async def request() -> None:  # as the route: the run's task made, then its stream at once
        driving.append(asyncio.create_task(run()))
        stream = RunStream(sub, ping_seconds=5.0, on_end=lambda: None)
        await stream(client.scope, client.receive, client.send)

    task = asyncio.create_task(request())
    await asyncio.wait_for(client.wrote.wait(), 5)
    first = next(m for m in client.sent if m["type"] == "http.response.body")
    assert b"id: 1\n" in first["body"] and b"id: 2\n" in first["body"]  # one write
    sub.close()
    await asyncio.wait_for(task, 5)
    driving[0].cancel()
