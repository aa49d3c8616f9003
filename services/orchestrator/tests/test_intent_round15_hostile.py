"""Hostile requests (round 15): what a client may send to ``POST /orchestrate/stream``,
``POST /v1/plans``, the OpenAI route or A2A (all bounded at ``MAX_QUERY`` characters) is
planned in time that grows with its length, never raises, and gives a bounded plan or an
honest refusal.

Found this round (CPU seconds for the largest request the API takes, 8,000 characters):

* a run of blanks, tabs or newlines anywhere: the branch reader ("if ... otherwise ...",
  ``planning.branching``, run on the event loop before any planner) scanned the rest of the
  run at each blank, 14 s; its four lazy parts made "if a, " repeated cubic (15 s at 2,000
  characters);
* "then x then x ...", "but x but x ...": the segmenter read the whole rest of the text at
  each "then" and "but" (3.7 s).

Growth is measured as an operation count (characters normalized, the planner's unit of
reading) where one exists, else as a ratio of CPU times at n and 4n with a generous factor
(linear work gives 4, quadratic 16): no absolute timing assertion.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable

import pytest
from intent_cases import PLANNER, manifest

from mesh_contracts.plan import MAX_PLAN_TASKS
from mesh_orchestrator.api.models import MAX_QUERY
from mesh_orchestrator.planning import branching
from mesh_orchestrator.planning.deterministic import PlanningFailed
from mesh_orchestrator.planning.facade import Planning
from mesh_orchestrator.planning.intent import model


def fill(unit: str, size: int, head: str = "", tail: str = "") -> str:
    """``head``, ``unit`` repeated, ``tail``: ``size`` characters in all."""
    room = max(0, size - len(head) - len(tail))
    return head + (unit * (room // len(unit) + 1))[:room] + tail


# name -> the request of a given size
SHAPES: dict[str, Callable[[int], str]] = {
    "lines": lambda n: fill("write a poem about rain\n", n),
    "short-lines": lambda n: fill("x\n", n),
    "bullets": lambda n: fill("- translate x into German\n", n),
    "numbered": lambda n: fill("1. search the web for cats\n", n),
    "csv": lambda n: fill("1,", n, "analyze this data: "),
    "json": lambda n: fill('{"a": 1}, ', n, "analyze this json: ["),
    "one-word": lambda n: "summarize " + "a" * (n - 10),
    "blanks": lambda n: fill(" ", n, "write", "x"),
    "tabs": lambda n: fill(" \t", n, "x.", "a"),
    "newlines": lambda n: fill("\n", n, "write", "x"),
    "nbsp": lambda n: fill("\u00a0", n, "write", "x"),
    "punctuation": lambda n: fill(".,;:!?-/", n, "write", "x"),
    "quotes": lambda n: fill("\"'\u201c\u00ab", n, "translate ", "x"),
    "open-quotes": lambda n: fill('"a ', n, "translate ", "x"),
    "brackets": lambda n: fill("([{", n, "write", ")"),
    "colons": lambda n: fill("a: b; ", n),
    "dashes": lambda n: fill(" - \u2014", n, "write", "x"),
    "emoji": lambda n: fill("\U0001f600 ", n, "write ", "x"),
    "zero-width": lambda n: fill("a\u200b\u200d", n, "write ", "x"),
    "combining": lambda n: fill("e\u0301\u0301", n, "write ", "x"),
    "rtl": lambda n: fill("\u202e\u0645\u0631\u062d\u0628\u0627\u200f ", n, "translate ", "x"),
    "and-then": lambda n: fill("and then ", n, "write a poem ", "draw it"),
    "then": lambda n: fill("then ", n, "write ", "x"),
    "but": lambda n: fill("but ", n, "write ", "x"),
    "if": lambda n: fill("if ", n, "write ", "x"),
    "if-then": lambda n: fill("if it rains then ", n, "", "xotherwise draw"),
    "if-commas": lambda n: fill("if a, ", n, "", "otherwise"),
    "negations": lambda n: fill("don't translate, ", n, "", "x"),
    "languages": lambda n: fill("German and French and ", n, "translate into ", "Dutch"),
    "numbers": lambda n: fill("12 ", n, "write ", ""),
    "ordinals": lambda n: fill("the second paragraph ", n, "translate ", ""),
    "mixed-script": lambda n: fill(
        "\u5199 una \u8a69 \u00fcber \u041a\u043e\u0448\u043a\u0430 and ", n
    ),
    "clauses": lambda n: fill("write a poem, ", n),
    "sentences": lambda n: fill("Write a poem. ", n),
    "arrows": lambda n: fill(" -> ", n, "write", "x"),
}


def outcome(query: str):  # type: ignore[no-untyped-def]
    """What the planning facade gives (the branch reader, then the intent planner)."""
    return asyncio.run(Planning(PLANNER).plan(query, manifest()))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_hostile_request_of_the_api_s_size_plans_or_is_refused(shape: str) -> None:
    got = outcome(SHAPES[shape](MAX_QUERY))
    if got.plan is None:
        assert got.error or got.unresolvable  # an honest refusal, with its reason
    else:
        assert 1 <= len(got.plan.tasks) <= MAX_PLAN_TASKS


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "query",
    [
        "analyze this: " + ",".join(str(k) for k in range(10_000)),
        "analyze this json: [" + ", ".join(f'{{"k": {k}}}' for k in range(10_000)) + "]",
    ],
    ids=["10k-csv", "10k-json"],
)
def test_a_paste_past_the_api_s_size_gives_a_bounded_plan(query: str) -> None:
    """Past what the API takes (the planner may be called directly): still no exception and
    no plan of thousands of tasks."""
    try:
        plan = PLANNER.plan_sync(query, manifest())
    except PlanningFailed:
        return
    assert 1 <= len(plan.tasks) <= MAX_PLAN_TASKS


def characters_normalized(query: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many characters the planner lowercases and folds to plan ``query`` (each module's
    ``normalize``, and ``tokens`` through it)."""
    read = 0
    real = model.normalize

    def counting(text: str) -> str:
        nonlocal read
        read += len(text)
        return real(text)

    with monkeypatch.context() as m:
        for name, module in list(sys.modules.items()):
            if name.startswith("mesh_orchestrator.planning") and (
                getattr(module, "normalize", None) is real
            ):
                m.setattr(module, "normalize", counting)
        with contextlib.suppress(PlanningFailed):
            PLANNER.plan_sync(query, manifest())
    return read


@pytest.mark.timeout(120)
@pytest.mark.parametrize("shape", ["then", "but", "and-then", "clauses"])
def test_the_planner_reads_a_connective_run_a_bounded_number_of_times(
    shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before round 15 each "then" and "but" had the rest of the text read (1,000 of them in
    8,000 characters: 7 million characters normalized)."""
    small = characters_normalized(SHAPES[shape](MAX_QUERY // 4), monkeypatch)
    large = characters_normalized(SHAPES[shape](MAX_QUERY), monkeypatch)
    assert large <= 6 * max(small, MAX_QUERY // 4)  # linear: 4; quadratic: 16


def cpu(call: Callable[[], object]) -> float:
    """CPU seconds of one ``call``: the least of two batches of at least 10 ms."""
    runs = 1
    while True:
        start = time.process_time()
        for _ in range(runs):
            call()
        spent = time.process_time() - start
        if spent >= 0.01 or runs >= 64:
            break
        runs *= 4
    best = spent
    for _ in range(1):
        start = time.process_time()
        for _ in range(runs):
            call()
        best = min(best, time.process_time() - start)
    return best / runs


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "shape", ["blanks", "tabs", "newlines", "nbsp", "if-then", "if-commas", "arrows"]
)
def test_the_branch_reader_grows_with_the_request(shape: str) -> None:
    """``branching.read`` runs on the event loop for every request: a run of blanks took it
    14 s at 8,000 characters (quadratic), "if a, " repeated 15 s at 2,000 (cubic)."""
    n = MAX_QUERY // 8
    small = cpu(lambda: branching.read(SHAPES[shape](n)))
    large = cpu(lambda: branching.read(SHAPES[shape](4 * n)))
    assert large <= 10 * small  # linear: 4; quadratic: 16; cubic: 64


@pytest.mark.timeout(120)
@pytest.mark.parametrize("shape", ["blanks", "tabs", "then"])
def test_a_plan_s_cpu_time_grows_with_the_request(shape: str) -> None:
    n = MAX_QUERY // 8
    small = cpu(lambda: outcome(SHAPES[shape](n)))
    large = cpu(lambda: outcome(SHAPES[shape](4 * n)))
    assert large <= 10 * small


@pytest.mark.parametrize(
    ("text", "word"),
    [
        (
            "Review the story; if it is approved, write the characters, otherwise revise it",
            "approved",
        ),
        (
            "Revisa la historia; si está aprobada, escribe los personajes, de lo contrario revísala",
            "aprobada",
        ),
    ],
)
def test_a_short_branch_is_still_read(text: str, word: str) -> None:
    b = branching.read(text)
    assert b is not None and b.word == word


def test_a_branch_in_a_request_past_the_reader_s_bound_is_planned_as_written() -> None:
    text = "if it is approved, write the characters, otherwise revise it. " + "Word " * 200
    assert branching.read(text) is None
