"""Hostile requests (round 16): every reader of the intent planner does work that grows
linearly with the request, and a hostile request gives a bounded plan or an honest refusal.

Found this round (the planner run on requests of the API's 8,000 characters, ``MAX_QUERY``):

* ``IntentPlanner._route`` re-read the clauses routed so far at every clause ("a job asked
  before?", "do the acts just before run code?", "which jobs were asked?") and every clause
  beside it ("is everything else chat?", "does a job open elsewhere?"): quadratic in the
  clauses, 8 million steps for a paste of 4,000 short lines, 7.8 s for 216 chat questions;
* ``lists.units`` read the whole paragraph joined so far at every line that runs on (4,000
  lines of "and");
* ``Segmenter._split_and`` handed the whole of both sides of each "and" to ``final_pair``;
* ``_questions_about_data`` gathered the request's tables again at each question;
* the semicolon splitter re-read a blank run from each of its blanks.

Work is counted, not timed: the Python calls (generator steps included) the planner makes,
through ``sys.setprofile``, at n and 4n characters (linear work gives 4, quadratic 16).
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from intent_cases import PLANNER, manifest

from mesh_contracts.plan import MAX_DEPENDS_ON, MAX_PLAN_TASKS
from mesh_orchestrator.api.models import MAX_QUERY
from mesh_orchestrator.planning.deterministic import PlanningFailed
from mesh_orchestrator.planning.intent import rules, segment
from mesh_orchestrator.planning.intent.rules import Routed
from mesh_orchestrator.planning.intent.segment import Segment


def fill(unit: str, size: int, head: str = "", tail: str = "") -> str:
    """``head``, ``unit`` repeated, ``tail``: ``size`` characters in all."""
    room = max(0, size - len(head) - len(tail))
    return head + (unit * (room // len(unit) + 1))[:room] + tail


def _nested_json(size: int) -> str:
    depth = max(1, (size - 30) // 8)
    return "analyze this json: " + '{"a": ' * depth + "1" + "}" * depth


_LANGUAGES = "German, French, Dutch, Spanish, Italian, Portuguese, Japanese, Korean, "

# name -> the request of a given size (the shapes a hostile client may send; round 15's
# are in test_intent_round15_hostile.py)
SHAPES: dict[str, Callable[[int], str]] = {
    "short-lines": lambda n: fill("x\n", n),
    "word-lines": lambda n: fill("write\n", n),
    "crlf-lines": lambda n: fill("x\r\n", n),
    "and-lines": lambda n: fill("and\n", n),
    "numbered-lines": lambda n: fill("1.\n", n),
    "one-word": lambda n: "a" * n,
    "commas": lambda n: fill(",", n, "translate ", "x"),
    "nested-brackets": lambda n: "write " + "([{" * ((n - 6) // 6) + "}])" * ((n - 6) // 6),
    "nested-quotes": lambda n: fill("\"'\u201c\u00ab", n, "translate ", "x"),
    "and-then": lambda n: fill("write a poem and then ", n, "", "draw it"),
    "x-and": lambda n: fill("x and ", n, "write "),
    "numbered": lambda n: "".join(f"{k}. translate item {k} into German\n" for k in range(1, 999))[
        :n
    ],
    "pronouns": lambda n: fill("summarize it, ", n, "write a poem, "),
    "languages": lambda n: fill(_LANGUAGES, n, "translate hello into "),
    "csv": lambda n: fill("a,b,c,d\n", n, "analyze this csv:\n"),
    "json-nested": _nested_json,
    "mixed-scripts": lambda n: fill(
        "\u5199 una \u8a69 \u00fcber \u041a\u043e\u0448\u043a\u0430 \U0001f600 "
        "\u202e\u0645\u0631\u062d\u0628\u0627\u200f \u200b\u200d and ",
        n,
    ),
    "negations": lambda n: fill("don't translate, ", n, "", "x"),
    "open-parens": lambda n: "(" * n,
    "questions": lambda n: fill("why? ", n),
    "chat-questions": lambda n: fill("what do you like more, cats or dogs? ", n),
    "acts": lambda n: fill("turn off the lights\n", n),
    "only": lambda n: fill("image only, ", n, "draw a cat, "),
    "blanks-semicolon": lambda n: fill(" ", n, "write", "x"),
}


def calls(query: str) -> int:
    """How many Python calls (and generator steps) planning ``query`` takes."""
    count = 0

    def tally(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(tally)
    try:
        with contextlib.suppress(PlanningFailed):
            PLANNER.plan_sync(query, manifest())
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "shape",
    [
        "short-lines",  # _route: the clauses before, at each clause
        "and-lines",  # lists.units: the paragraph joined so far, at each line
        "numbered-lines",
        "x-and",  # _split_and: final_pair on both whole sides of each "and"
        "questions",  # _route and _questions_about_data
        "chat-questions",  # _route: the clauses beside, at each clause
        "acts",  # _route: the acts just before, at each act
        "only",  # _route: the jobs asked before
    ],
)
def test_the_planner_s_work_grows_linearly_with_the_request(shape: str) -> None:
    # (216 chat questions are refused as too many jobs: a step in the work between 2,000
    # and 4,000 characters, so they are measured from 4,000, past the API's size)
    small_size, large_size = (
        (MAX_QUERY // 2, 2 * MAX_QUERY)
        if shape == "chat-questions"
        else (MAX_QUERY // 4, MAX_QUERY)
    )
    small = calls(SHAPES[shape](small_size))
    large = calls(SHAPES[shape](large_size))
    assert large <= 6 * max(small, 1_000)  # linear: 4; quadratic: 16


@pytest.mark.timeout(300)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_hostile_request_of_the_api_s_size_gives_a_bounded_plan(shape: str) -> None:
    """Every shape at ``MAX_QUERY``: a plan within the contract's bounds (tasks, inputs
    each task reads, bytes) or a refusal that says why."""
    query = SHAPES[shape](MAX_QUERY)
    assert len(query) <= MAX_QUERY
    try:
        plan = PLANNER.plan_sync(query, manifest())
    except PlanningFailed as e:
        assert str(e)
        return
    assert 1 <= len(plan.tasks) <= MAX_PLAN_TASKS
    assert all(len(t.depends_on) <= MAX_DEPENDS_ON for t in plan.tasks)
    # each task carries at most what was asked (the request, and a few words of its own)
    assert len(plan.model_dump_json()) <= len(plan.tasks) * (3 * MAX_QUERY + 4_096)


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "query",
    [
        "translate into German:\n" + "".join(f"- item {k}\n" for k in range(10_000)),
        "".join(f"{k}. write a poem about {k}\n" for k in range(1, 400))[:MAX_QUERY],
        fill("write a poem and then ", MAX_QUERY),
    ],
    ids=["10k-bullets-past-the-api", "numbered-jobs", "and-then-jobs"],
)
def test_a_list_of_many_jobs_makes_no_plan_of_as_many_tasks(query: str) -> None:
    """A list of hundreds of jobs (or 10,000 items, past what the API takes: the planner
    called directly) is refused with its count and the cap, or planned within
    ``MAX_PLAN_TASKS``."""
    try:
        plan = PLANNER.plan_sync(query, manifest())
    except PlanningFailed as e:
        assert f"a plan holds at most {MAX_PLAN_TASKS}" in str(e) or "unresolvable" in str(e)
        return
    assert 1 <= len(plan.tasks) <= MAX_PLAN_TASKS


def test_final_pair_reads_a_window_on_either_side_of_each_and(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``_split_and`` handed ``final_pair`` the whole of both sides of each "and" (both
    sides of 1,300 "and"s read whole in 8,000 characters); now the words near it."""
    sides: list[int] = []
    real = segment.Segmenter.final_pair

    def recording(self: segment.Segmenter, before: str, after: str) -> bool:
        sides.append(max(len(before), len(after)))
        return real(self, before, after)

    monkeypatch.setattr(segment.Segmenter, "final_pair", recording)
    with contextlib.suppress(PlanningFailed):
        PLANNER.plan_sync(SHAPES["x-and"](MAX_QUERY), manifest())
    assert len(sides) > 100
    assert max(sides) <= 600  # 49 words of "x and"


class _Reads(list[Routed]):
    """A list that counts how often it is read through."""

    reads = 0

    def __iter__(self) -> Iterator[Routed]:
        self.reads += 1
        return super().__iter__()


def test_the_tables_beside_questions_are_gathered_once() -> None:
    """``_questions_about_data`` read every routed clause again at each question (1,600
    questions: 2.6 million steps)."""
    table = "a,b\n1,2\n3,4"
    routed = _Reads(
        [Routed(Segment(instruction="analyze this", data=[table]), "data_analysis", 0.9)]
        + [Routed(Segment(instruction=f"why {k}?"), "search", 0.9) for k in range(200)]
    )
    rules._questions_about_data(routed, PLANNER._model)  # type: ignore[arg-type]
    assert routed.reads <= 2


# the semicolon splitter before round 16: the same splits, a blank run read from each blank
_OLD_SEMICOLON = re.compile(r"\s*;\s+|\s+;\s*")


@pytest.mark.parametrize(
    "text",
    [
        "a; b",
        "a ;b",
        "a ; b",
        "tl;dr",
        "a;  ;b",
        " ; a",
        "a   ;   b ; c;d ;e",
        ";",
        " ;",
        "; ",
        "a\t;\nb",
        "x" + " " * 50 + "y",
        "x" + " " * 50 + ";",
        "a ;; b",
        "a; ;; b",
    ],
)
def test_the_semicolon_splitter_splits_as_before(text: str) -> None:
    assert segment._SEMICOLON.split(text) == _OLD_SEMICOLON.split(text)


def test_the_semicolon_splitter_starts_only_at_a_blank_run_s_first_blank() -> None:
    """Each alternative that opens on blanks is guarded by ``(?<!\\s)``, so a run of blanks
    is read once (round 15's remedy for the branch reader and the arrows)."""
    for alternative in segment._SEMICOLON.pattern.split("|"):
        assert alternative.startswith(r"(?<!\s)\s")
