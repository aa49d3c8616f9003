"""Plain "if ... then ... otherwise ..." requests as a plan with a branch, with no LLM.

"Review the story; if it is approved, write the characters, otherwise revise the story"
is three parts: the *check* (what comes before "if": review the story), the *then* branch
and the *otherwise* branch. Each part is planned by the planner that needs no LLM, as a
request of its own; the parts' tasks are renamed ``check-<id>``, ``then-<id>`` and
``else-<id>``; every first task of a branch depends on the check's last tasks and carries
a ``when``: the branch is taken when the check's output says the condition's word
(``approved``) and does not deny it (``not approved``), or, for a structured output, holds
it as a true field (``approved: true``). "unless" and a negated condition ("if it is not
approved") swap the branches. With nothing before "if", the condition itself is the check
("if it rains in Oslo today, ...": look that up first).

This is a heuristic over words, made to be honest about what it read: the stream's
``condition`` event shows what the check's output held. An LLM planner writes ``when``
expressions of its own.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mesh_contracts import CapabilitiesManifest, ExecutionPlan, SubTask
from mesh_orchestrator.planning.deterministic import Draft

# "<check>, if <cond>, [then] <A>, otherwise|else|if not <B>" (English; the connectives are
# few and fixed on purpose: anything else is left to the planner as it is).
_IF = re.compile(
    r"^(?P<check>.*?)(?:^|[,;.:]\s*|\s+)(?P<kw>if|unless)\s+(?P<cond>.+?)(?:\s*,\s*(?:then\s+)?|\s+then\s+)"
    r"(?P<then>.+?)\s*(?:[,;.]\s*|\s+)(?:and\s+)?(?:otherwise|else|if not)\s*,?\s+(?P<other>.+?)"
    r"\s*[.!]?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_NEGATION = re.compile(r"\b(?:not|isn't|is not|wasn't|doesn't|don't|no)\b", re.IGNORECASE)
_STOP = frozenset(
    [
        "it",
        "is",
        "was",
        "are",
        "were",
        "be",
        "been",
        "the",
        "a",
        "an",
        "this",
        "that",
        "its",
        "they",
        "them",
        "there",
        "he",
        "she",
        "result",
        "answer",
        "output",
        "review",
        "check",
        "story",
        "text",
        "does",
        "do",
        "has",
        "have",
        "gets",
        "get",
        "got",
        "say",
        "says",
        "said",
    ]
)
# What a branch's when reads besides the word in the text: a structured output's field.
_WORD = re.compile(r"[a-z][a-z-]{2,30}")


@dataclass(frozen=True)
class Branching:
    """A request read as check / condition / then / otherwise."""

    check: str
    condition: str
    word: str
    negated: bool
    then: str
    other: str


def read(query: str) -> Branching | None:
    """The request's branch, or None when it is not an if/then/otherwise request."""
    m = _IF.match(query.strip())
    if m is None:
        return None
    cond = m["cond"].strip()
    words = [w for w in _WORD.findall(cond.lower()) if w not in _STOP and w != "not"]
    if not words:
        return None
    negated = bool(_NEGATION.search(cond)) != (m["kw"].lower() == "unless")
    check = re.sub(r"\s+(?:and|then|so)$", "", m["check"].strip(" ,;.:"), flags=re.I) or cond
    return Branching(check, cond, words[-1], negated, m["then"].strip(), m["other"].strip())


def holds(task_id: str, word: str) -> str:
    """The ``when`` that reads ``word`` as said by ``task_id``'s output."""
    return (
        f"$.{task_id}.output.{word} == true or ('{word}' in tasks.{task_id}.lower "
        f"and not ('not {word}' in tasks.{task_id}.lower))"
    )


def _renamed(plan: ExecutionPlan, prefix: str) -> list[SubTask]:
    names = {t.task_id: f"{prefix}-{t.task_id}" for t in plan.tasks}
    return [
        t.model_copy(
            update={"task_id": names[t.task_id], "depends_on": [names[d] for d in t.depends_on]}
        )
        for t in plan.tasks
    ]


def _sinks(tasks: list[SubTask]) -> list[str]:
    used = {d for t in tasks for d in t.depends_on}
    return [t.task_id for t in tasks if t.task_id not in used]


def combine(b: Branching, check: Draft, then: Draft, other: Draft) -> Draft:
    """One plan: the check, then each branch behind its ``when``."""
    tasks = _renamed(check.plan, "check")
    last = _sinks(tasks)
    # The word is read from the check's last task (its output is what the condition is about).
    cond = holds(last[-1], b.word)
    taken, not_taken = (f"not ({cond})", cond) if b.negated else (cond, f"not ({cond})")
    for prefix, draft, when in (("then", then, taken), ("else", other, not_taken)):
        branch = _renamed(draft.plan, prefix)
        for t in branch:
            if not t.depends_on:  # a first task of the branch: behind the check and its when
                t.depends_on = list(last)
                t.when = when
        tasks += branch
    notes = [
        f"branch: if {b.condition!r} ({'not ' if b.negated else ''}{b.word!r} in the check's "
        f"output) then {b.then!r}, otherwise {b.other!r}",
        *check.notes,
        *then.notes,
        *other.notes,
    ]
    plan = ExecutionPlan(tasks=tasks, planner=check.plan.planner, reasoning="; ".join(notes))
    return Draft(plan, notes, [*check.unresolvable, *then.unresolvable, *other.unresolvable])


Drafting = Callable[[str, CapabilitiesManifest], Awaitable[Draft]]


async def draft_branches(
    drafting: Drafting, query: str, manifest: CapabilitiesManifest
) -> Draft | None:
    """The branching plan of ``query``, each part drafted by ``drafting(text, manifest)``;
    None when the request is not an if/then/otherwise one or a part cannot be planned."""
    b = read(query)
    if b is None:
        return None
    try:
        parts = [await drafting(text, manifest) for text in (b.check, b.then, b.other)]
    except Exception:  # a part nobody serves: plan the request as a whole instead
        return None
    try:
        return combine(b, *parts)
    except ValueError:  # the combined plan is not valid (too many tasks)
        return None
