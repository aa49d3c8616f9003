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
