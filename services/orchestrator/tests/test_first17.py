"""Round 17 (lean-first17): the relay's path reads what it needs of the models once, and the
event flusher waits without looking the loop up (bench/README.md, "Round 17: first token").

Counted, never timed: a pydantic model's field is read through its ``__getattr__`` hook (a
slow attribute read on Python 3.11), and each ``asyncio.get_running_loop`` is a ``getpid``
system call there. Each test fails with its cut undone: the executor's ids read again in
each of its loops, a call asking its protocol twice, a budget reading its model, the
flusher waiting in an ``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_first_token import AGENT, _Emitter, _Resolver
from test_run_costs import _Events, _FakeCalls, _plan

from mesh_contracts import AgentDescriptor, Budget, ExecutionPlan, SubTask, TaskRequest
from mesh_orchestrator.relay import calls as calls_module
from mesh_orchestrator.relay.budget import RunBudget
from mesh_orchestrator.relay.calls import WorkerCalls
from mesh_orchestrator.relay.executor import Executor
from mesh_orchestrator.relay.gate import Signal
from mesh_orchestrator.relay.worker_client import Relayable
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.store import SQLiteRunStore


class Reads:
    """Attribute reads of the models given, by (model, name, reading function), from code
    in the files given (their paths' ends)."""

    def __init__(self, files: tuple[str, ...]) -> None:
        self.files = files
        self.by: Counter[tuple[str, str, str]] = Counter()

    def of(self, model: str, name: str, function: str | None = None) -> int:
        return sum(
            n
            for (m, a, f), n in self.by.items()
            if m == model and a == name and (function is None or f == function)
        )


@pytest.fixture
def reads() -> Iterator[Any]:
    """``watch(files, *models)``: a ``Reads`` of those models' attributes from those files
    (each model's ``__getattribute__`` wrapped, taken away after the test)."""
    patched: list[type] = []

    def watch(files: tuple[str, ...], *models: type) -> Reads:
        found = Reads(files)
        for cls in models:

            def counted(obj: Any, name: str, _name: str = cls.__name__) -> Any:
                code = sys._getframe(1).f_code
                if code.co_filename.replace("\\", "/").endswith(found.files):
                    found.by[(_name, name, code.co_name)] += 1
                return object.__getattribute__(obj, name)

            assert "__getattribute__" not in vars(cls)
            type.__setattr__(cls, "__getattribute__", counted)
            patched.append(cls)
        return found

    yield watch
    for cls in patched:
        type.__delattr__(cls, "__getattribute__")


EXECUTOR = ("mesh_orchestrator/relay/executor.py",)


async def test_a_run_reads_each_tasks_id_once_in_the_executor(reads: Any) -> None:
    plan = _plan({"task_id": "t", "capability": "text_generation"})
    found = reads(EXECUTOR, SubTask, ExecutionPlan)
    ex = Executor(_FakeCalls(), backoff_initial=0.001, backoff_max=0.01)  # type: ignore[arg-type]
    out = await ex.run(plan, _Events(), run_id="r")  # type: ignore[arg-type]
    assert out["t"].status == "completed" and out["t"].instance_id == "w1"  # after w0 failed
    # Once in ``run`` (the futures are keyed by it from then on), once in ``_node``, once
    # for each attempt's request (``_execute``, two attempts here); the plan's tasks once.
    assert found.of("SubTask", "task_id", "run") == 1
    assert found.of("SubTask", "task_id", "_node") == 1
    assert found.of("SubTask", "task_id") == 3
    assert found.of("ExecutionPlan", "tasks") == 1


async def test_a_plan_of_three_gets_its_outcomes_in_plan_order_with_one_read_each(
    reads: Any,
) -> None:
    plan = _plan(
        {"task_id": "b", "capability": "c"},
        {"task_id": "a", "capability": "c", "depends_on": ["b"]},
        {"task_id": "z", "capability": "c"},
    )
    found = reads(EXECUTOR, SubTask)
    calls = _FakeCalls()
    calls.resolver.agents = calls.resolver.agents[1:]  # w1 only: one attempt a task
    ex = Executor(calls, backoff_initial=0.001)  # type: ignore[arg-type]
    out = await ex.run(plan, _Events(), run_id="r")  # type: ignore[arg-type]
    assert list(out) == ["b", "a", "z"] and {o.status for o in out.values()} == {"completed"}
    assert found.of("SubTask", "task_id", "run") == 3
    assert found.of("SubTask", "task_id", "_node") == 3


async def test_a_budget_reads_its_limits_once(reads: Any) -> None:
    found = reads(("mesh_orchestrator/relay/budget.py",), Budget)
    bounded = RunBudget(Budget(max_tasks=2, wall_s=60, tokens=100))
    free = RunBudget()
    made = sum(found.by.values())
    assert made == 4  # the bounded one's four bounds as it is made; the unbounded one: none
    assert bounded.bounded and not free.bounded
    assert bounded.limit_values() == {"max_tasks": 2, "wall_s": 60.0, "tokens": 100}
    assert free.limit_values() == {} and free.wall_left() is None
    assert 59 < (bounded.wall_left() or 0) <= 60
    assert bounded.take_task() and bounded.take_task() and not bounded.take_task()
    assert bounded.exhausted == "max_tasks"
    for _ in range(50):  # a call's blocks, each counted as it comes
        free.streamed(3)
        bounded.streamed(1)
    assert bounded.exhausted == "max_tasks" and not bounded.stop.is_set()
    bounded.streamed(60)  # 110 of 100
    assert bounded.exhausted == "tokens" and bounded.stop.is_set()
    assert bounded.describe() == "tokens (110 of 100)"
    assert free.exhausted is None and free.tokens == 150
    # Nothing read of the models after they were made: every answer above from ``_caps``.
    assert sum(found.by.values()) == made
    # A budget given with no bound set is unbounded, as before.
    assert not RunBudget(Budget()).bounded


async def test_a_worker_call_asks_its_protocol_once_and_reads_its_instance_once(
    monkeypatch: pytest.MonkeyPatch, reads: Any
) -> None:
    asked: Counter[str] = Counter()
    for name in ("speaks_a2a", "speaks_mcp"):
        real = getattr(calls_module, name)

        def counted(d: AgentDescriptor, _real: Any = real, _name: str = name) -> bool:
            asked[_name] += 1
            return bool(_real(d))

        monkeypatch.setattr(calls_module, name, counted)

    async def one_block(
        http: Any, d: Any, request: Any, on_accepted: Any, *args: Any, **kwargs: Any
    ) -> AsyncGenerator[list[Relayable]]:
        on_accepted()
        yield [("token", {"token": "a"}), ("token", {"token": "b"})]

    monkeypatch.setattr(calls_module, "call_worker_batches", one_block)
    found = reads(("mesh_orchestrator/relay/calls.py",), AgentDescriptor)
    async with httpx.AsyncClient() as http:
        calls = WorkerCalls(http, _Resolver(), stream_client="httpx")  # type: ignore[arg-type]
        try:
            emit = _Emitter()
            task = SubTask(task_id="t", capability="c")
            outcome = await calls.call(task, AGENT, TaskRequest(task_id="t"), emit)  # type: ignore[arg-type]
        finally:
            await calls.aclose()
    assert outcome.status == "completed" and outcome.instance_id == AGENT.instance_id
    assert emit.types == ["status:running", "token", "token", "result", "status:completed"]
    assert asked == {"speaks_a2a": 1, "speaks_mcp": 1}
    assert found.of("AgentDescriptor", "instance_id", "call") == 1


def _lookups(monkeypatch: pytest.MonkeyPatch, near: str) -> Counter[str]:
    """Calls of ``asyncio.get_running_loop``/``_get_running_loop`` with a frame of a file
    ending in ``near`` among their three callers (by the first caller's function)."""
    import asyncio.events as events

    seen: Counter[str] = Counter()
    for name in ("get_running_loop", "_get_running_loop"):
        real = getattr(events, name)

        def counted(_real: Any = real) -> Any:
            f = sys._getframe(1)
            first = f.f_code.co_name
            for _ in range(3):
                if f is None:
                    break
                if f.f_code.co_filename.replace("\\", "/").endswith(near):
                    seen[first] += 1
                    break
                f = f.f_back
            return _real()

        monkeypatch.setattr(events, name, counted)
        if hasattr(asyncio, name):
            monkeypatch.setattr(asyncio, name, counted)
    return seen


async def test_the_flusher_waits_on_its_own_loop_without_a_look_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await store.open()
    mux = EventMux(store, interval=0.005)
    seen = _lookups(monkeypatch, "mesh_orchestrator/runs/mux.py")
    flushes: asyncio.Queue[None] = asyncio.Queue()
    real = mux._flush_counted

    async def counted() -> None:
        await real()
        flushes.put_nowait(None)

    mux._flush_counted = counted  # type: ignore[method-assign]
    await mux.start()
    try:
        async with asyncio.timeout(10):
            for _ in range(10):  # ten waits that ran out
                await flushes.get()
            mux.interval = 3600  # (read a wait) from now on only a wake ends one
            await flushes.get()  # the wait under way when it changed
            for _ in range(3):  # waits that were woken
                mux._wake.set()
                await flushes.get()
    finally:
        await mux.stop()
        await store.close()
    # The flusher's task made (``start``) and its one look-up as it starts; none a wait
    # (``asyncio.timeout`` and ``Event.wait`` made four a wait: the timeout's three, the
    # event's future one).
    assert seen == {"create_task": 1, "_flush_loop": 1}, seen


async def test_wait_within_answers_whether_it_was_set_and_leaves_no_waiter() -> None:
    loop = asyncio.get_running_loop()
    s = Signal()
    assert await s.wait_within(0.001, loop) is False and s._waiters is None
    loop.call_later(0.001, s.set)
    assert await s.wait_within(5, loop) is True and s._waiters is None
    assert await s.wait_within(5, loop) is True  # set already: at once
    s.clear()
    waiter = asyncio.ensure_future(s.wait_within(5, loop))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert s._waiters is None  # the cancelled wait left the list
