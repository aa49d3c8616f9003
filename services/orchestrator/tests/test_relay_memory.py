"""What an open stream holds of a worker call: an untraced call is ``WorkerCalls.call``
itself, with no frame of ``traced_call`` (nor its span's closures) held around it while the
worker streams (``bench/README.md``, "Round 8")."""

from __future__ import annotations

import inspect
from typing import Any

from mesh_orchestrator.relay.calls import WorkerCalls
from mesh_orchestrator.relay.executor import Executor
from mesh_orchestrator.runs.driving import RunDriver
from mesh_orchestrator.tracing import NO_CALL, NO_TRACER


def test_an_untraced_call_is_the_call_itself() -> None:
    calls = object.__new__(WorkerCalls)  # only ``call``'s coroutine is made, never run
    t: Any = object()
    coro = calls.traced_call(NO_TRACER, t, t, t, t, 1, set(), None)
    try:
        assert inspect.iscoroutine(coro)
        assert coro.cr_code is WorkerCalls.call.__code__
    finally:
        coro.close()


def test_an_untraced_call_is_handed_no_call_and_makes_no_span() -> None:
    """``NO_TRACER`` gives the call ``NO_CALL`` and never makes its span (nor lists the
    candidates the span would)."""
    handed: list[Any] = []

    def call(span: Any) -> Any:
        handed.append(span)
        return "the call"

    def span() -> Any:
        raise AssertionError("an untraced call made its span")

    assert NO_TRACER.around_call(call, span) == "the call"
    assert handed == [NO_CALL]


def test_a_call_keeps_no_closures_over_its_locals() -> None:
    """``call``'s ``running`` status and ``accepted`` callback are one slotted object
    (``calls._Start``), not closures whose functions and cells its frame would hold as long
    as the worker streams (~0.8 KB an open stream)."""
    code = WorkerCalls.call.__code__
    assert code.co_cellvars == ()
    assert not [c for c in code.co_consts if inspect.iscode(c)]  # no nested function


def test_the_frames_an_open_stream_holds_keep_no_cells() -> None:
    """The coroutines suspended under a run while its worker streams make no cells of their
    locals (a comprehension or a closure reading one would: ~48 bytes a name, 14 of them in
    ``Executor.run`` once, held as long as the stream is open)."""
    held = [
        Executor.run, Executor._node, Executor._execute, Executor._attempts,
        WorkerCalls.call, RunDriver._drive,
    ]  # fmt: skip
    assert {f.__qualname__: f.__code__.co_cellvars for f in held if f.__code__.co_cellvars} == {}


def test_runs_without_a_budget_share_one_limits_model() -> None:
    """A run without a budget holds no ``Budget`` model of its own (a model, its
    ``__dict__`` and its fields-set each, ~0.36 KB a stream); one with a budget its own."""
    from mesh_contracts import Budget
    from mesh_orchestrator.relay.budget import RunBudget

    first, second = RunBudget(), RunBudget()
    assert first.limits is second.limits
    assert not first.bounded and first.take_task() and second.tasks == 0
    bounded = RunBudget(Budget(max_tasks=1))
    assert bounded.limits is not first.limits and bounded.bounded


def test_worker_answers_share_their_kept_header_names_and_values() -> None:
    """Two worker connections that read alike headers hold one string for each kept name
    and value, not one each; other headers are not kept."""
    from mesh_orchestrator.relay.stream_client import _Connection

    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
        b"Date: Mon, 07 Dec 2026 09:00:00 GMT\r\nServer: uvicorn\r\n\r\n"
    )
    first, second = _Connection(), _Connection()
    for conn in (first, second):
        conn.parser.feed_data(answer)
        assert conn.headers == {"content-type": "text/event-stream", "transfer-encoding": "chunked"}
    for (n1, v1), (n2, v2) in zip(first.headers.items(), second.headers.items(), strict=True):
        assert n1 is n2 and v1 is v2
