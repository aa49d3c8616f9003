"""The intent planner's work grows with the request, not with its square: a hostile request of
the longest size the API takes (8,000 characters) made of a thousand tiny clauses that each
continue the one before ("a: b; a: b; ...") once had every clause re-read the whole grown text
before it (1.5 s of CPU for one plan). Counted in characters normalized, not in time."""

from __future__ import annotations

import pytest

from intent_cases import PLANNER, manifest
from mesh_contracts.plan import MAX_PLAN_TASKS
from mesh_orchestrator.api.models import MAX_QUERY
from mesh_orchestrator.planning.deterministic import PlanningFailed
from mesh_orchestrator.planning.intent import rules


@pytest.mark.parametrize(
    "query",
    [
        ("a: b; " * 2000)[: MAX_QUERY // 2],
        ("hi. ok. " * 1000)[: MAX_QUERY // 2],
    ],
    ids=["colons", "greetings"],
)
def test_continuations_read_each_clause_a_bounded_number_of_times(
    query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = 0
    real = rules.tokens

    def counting_tokens(text: str) -> list[str]:
        nonlocal read
        read += len(text)
        return real(text)

    monkeypatch.setattr(rules, "tokens", counting_tokens)
    try:
        PLANNER.plan_sync(query, manifest())
    except PlanningFailed:
        pass  # too many jobs (below): the work done before saying so is what is bounded
    # each clause's text is tokenized a handful of times by the rules; quadratic re-reading of
    # a growing text would read millions of characters here
    assert read <= 40 * len(query)


def test_a_request_of_more_jobs_than_a_plan_holds_is_refused_as_too_large() -> None:
    """Hundreds of little asks ("Hola, ¿qué tal?" 500 times) once made a plan of 500 tasks that
    the plan contract rejected with a ValidationError (a failed run with no reason a user can
    read); now the planner says what is wrong."""
    query = "Hola, ¿qué tal? " * 100
    with pytest.raises(PlanningFailed, match=f"at most {MAX_PLAN_TASKS}"):
        PLANNER.plan_sync(query, manifest())
