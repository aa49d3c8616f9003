"""Plain "if ... then ... otherwise ..." requests as a plan with a branch, with no LLM.

"Review the story; if it is approved, write the characters, otherwise revise the story"
is three parts: the *check* (what comes before "if": review the story), the *then* branch
and the *otherwise* branch. Each part is planned by the planner that needs no LLM, as a
request of its own; the parts' tasks are renamed ``check-<id>``, ``then-<id>`` and
``else-<id>``; every first task of a branch depends on the check's last tasks and carries
a ``when``: the branch is taken when the check's output says the condition's word
(``approved``) and does not deny it (``not approved``), or, for a structured output with
that field, holds it true (``approved: true``). "unless" and a negated condition ("if it is not
approved") swap the branches. With nothing before "if", the condition itself is the check
("if it rains in Oslo today, ...": look that up first).

The same holds in Spanish, French, German, Portuguese, Italian and Dutch ("si ... sinon
...", "wenn ... sonst ...", "se ... altrimenti ...", "tenzij ... anders ..."): each
language is a row of connectives (``planning.connectives``): its "if", "unless", "then",
"otherwise" and "not", and how an output denies the word ("no aprobado", "nicht
genehmigt"); the word is looked for without its inflection ("aprobad": the request's
"aprobado" and the reviewer's "aprobada" alike).

This is a heuristic over words, made to be honest about what it read: the stream's
``condition`` event shows what the check's output held. An LLM planner writes ``when``
expressions of its own.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mesh_contracts import CapabilitiesManifest, ExecutionPlan, SubTask
from mesh_contracts.conditions import MAX_EXPRESSION_CHARS
from mesh_orchestrator.planning.connectives import (
    COMMON_STOP,
    LANGUAGES,
    Connectives,
    branch_pattern,
    branch_words,
    is_unless,
    negation_pattern,
)
from mesh_orchestrator.planning.deterministic import Draft

# One pattern per language (``planning.connectives``), tried in the table's order.
_READERS = [(c, branch_pattern(c), negation_pattern(c)) for c in LANGUAGES]
# What each pattern cannot match without (``connectives.branch_words``), looked for first.
_NEEDED = {c.language: branch_words(c) for c in LANGUAGES}
# A branch is read in a request of at most this many characters and "if"s (round 15: the
# pattern's four lazy parts read a hostile request in time cubic in its length, "if a, "
# repeated over 2,000 characters for 15 s, on the event loop); a longer one is planned
# as written, without a branch.
MAX_BRANCH_CHARS = 600
MAX_BRANCH_IFS = 4
# A word of a condition (any script's letters; hyphens inside).
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|-){2,30}")
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")  # a field name a path may spell bare
# A branch's when is this one, negated or not: room for "not (...)" in the language's bound.
MAX_WHEN_CHARS = MAX_EXPRESSION_CHARS - len("not ()")


@dataclass(frozen=True)
class Branching:
    """A request read as check / condition / then / otherwise, in ``language``'s words."""

    check: str
    condition: str
    word: str
    negated: bool
    then: str
    other: str
    language: str = "en"


def read(query: str) -> Branching | None:
    """The request's branch, or None when it is not an if/then/otherwise request in one of
    the languages of ``planning.connectives``."""
    text = query.strip()
    for c, pattern, negation in _READERS:
        if_, otherwise = _NEEDED[c.language]
        first = if_.search(text)
        if first is None or otherwise.search(text, first.end()) is None:
            continue  # (round 15: the pattern read a long request with neither for seconds)
        if len(text) > MAX_BRANCH_CHARS or len(if_.findall(text, 0)) > MAX_BRANCH_IFS:
            continue
        m = pattern.match(text)
        if m is None:
            continue
        cond = m["cond"].strip()
        denying = {w.lower() for w in c.negation}
        stop = COMMON_STOP | c.stop | denying
        words = [w for w in _WORD.findall(cond.lower()) if w not in stop]
        if not words:
            continue
        negated = bool(negation.search(cond)) != is_unless(c, m["kw"])
        joins = "|".join(re.escape(w) for w in (*c.and_, *c.then, "and", "then", "so"))
        check = re.sub(rf"\s+(?:{joins})$", "", m["check"].strip(" ,;.:"), flags=re.I) or cond
        then, other = m["then"].strip(), m["other"].strip()
        return Branching(check, cond, words[-1], negated, then, other, c.language)
    return None


def _language(code: str) -> Connectives:
    return next((c for c in LANGUAGES if c.language == code), LANGUAGES[0])


def holds(task_id: str, word: str, language: str = "en") -> str:
    """The ``when`` that reads ``word`` as said by ``task_id``'s output: a structured
    output's field ``word`` when it has one (true or not), else the word (without its
    inflection) in the text and none of ``language``'s denials of it (as many as the
    expression language's length allows; the first always)."""
    c = _language(language)
    field = f"$.{task_id}.output" + (f".{word}" if _PLAIN.fullmatch(word) else f"['{word}']")
    stem = c.stem(word)
    lower = f"tasks.{task_id}.lower"
    head = f"{field} == true or ({field} == null and '{stem}' in {lower} and not ("
    denials: list[str] = []
    for form in c.denied:
        denial = f"'{form.format(stem)}' in {lower}"
        if denials and len(head) + len(" or ".join([*denials, denial])) + 2 > MAX_WHEN_CHARS:
            break
        denials.append(denial)
    return head + " or ".join(denials) + "))"


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
    cond = holds(last[-1], b.word, b.language)
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
        f"output) then {b.then!r}, otherwise {b.other!r}"
        + ("" if b.language == "en" else f" ({b.language})"),
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
