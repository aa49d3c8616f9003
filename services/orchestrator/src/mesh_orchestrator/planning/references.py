"""References to a thread's earlier turns, resolved into the plan's inputs.

A follow-up on a thread ("now translate that into German", "summarize the second one",
"translate the second paragraph") names something an earlier run made. ``find`` reads the
request for such phrases against the conversation (``mesh_orchestrator.conversation``) and gives
each one's text and source (the run, the sub-task, which part); ``attach`` makes it the
input of the task that mentions it: its ``text``, and, for a worker that takes a
``prompt``, the prompt with the phrase replaced by "the following text" and the text after
it. Which run a reference means: the latest turn. What it means:

* a pronoun object ("translate that", "summarize it", "übersetze das"), "the previous
  answer", "your answer", "the above": the latest answer's lead (its final steps' outputs);
* an ordinal with a unit ("the second paragraph", "the last sentence", "the 3rd line"):
  that part of the lead;
* an ordinal with "one", "result" or "part" ("the second one"): the latest run's n-th
  final output when it had several, else the n-th paragraph.

No reference, or no earlier turn: nothing changes. The planner plans the request as it is
written; references only add inputs, so a planner that cannot read them still plans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mesh_contracts import ExecutionPlan, SubTask
from mesh_orchestrator.conversation import Conversation, Turn

ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "last": -1,
    "final": -1,
    "previous": -1,
}
_ORD = r"(first|second|third|fourth|fifth|sixth|last|final|\d{1,2}(?:st|nd|rd|th)|#?\d{1,2})"
_PART = re.compile(
    rf"\b(?:the\s+)?{_ORD}\s+(paragraph|sentence|line|item|point|bullet|one|result|part)s?\b",
    re.IGNORECASE,
)
_WHOLE = re.compile(
    r"\b(?:the\s+(?:previous|last|earlier|above)\s+(?:answer|response|reply|result|text|output)"
    r"|your\s+(?:last\s+|previous\s+)?(?:answer|response|reply)|the\s+above)\b",
    re.IGNORECASE,
)
# A pronoun as the object of the clause's first verb ("translate that", "now put it into",
# "übersetze das"), not a conjunction ("make sure that the ...").
_PRONOUN = re.compile(
    r"(?:^|[,;.:!?]\s*|\b(?:now|then|and|please|also|bitte|jetzt|maintenant)\s+)"
    r"([^\W\d_]{2,})\s+(that|this|it|them|those|das|dies|es|ça|cela|eso|esto)\b"
    r"(?!\s+(?:is|was|are|were|the|a|an|will|would|can|you|we|they|i|he|she)\b)",
    re.IGNORECASE,
)
# Where planners put a task's text, by the agent's input schema (``planning.structure``).
TEXT_FIELDS = ("prompt", "query", "text", "question", "input", "message", "content")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Reference:
    """A phrase of the request and what it stands for."""

    phrase: str
    text: str
    run_id: str | None
    task_id: str | None  # the sub-task whose output it is; None: the run's answer
    part: str  # "answer", "paragraph 2", "output 2", ...

    def source(self) -> dict[str, object]:
        return {"run_id": self.run_id, "task_id": self.task_id, "part": self.part}


def _index(word: str) -> int:
    w = word.lower().lstrip("#")
    if w in ORDINALS:
        return ORDINALS[w]
    return int(re.sub(r"\D", "", w) or 0)


def _pick(items: list[str], n: int) -> str | None:
    if n == -1:
        return items[-1] if items else None
    return items[n - 1] if 1 <= n <= len(items) else None


def _parts(text: str, unit: str) -> list[str]:
    text = text.strip()
    if unit == "sentence":
        return [s.strip() for s in _SENTENCE.split(text) if s.strip()]
    if unit in ("line", "item", "point", "bullet"):
        lines = [ln.strip().lstrip("-*•").strip() for ln in text.splitlines()]
        return [re.sub(r"^\d+[.)]\s*", "", ln) for ln in lines if ln]
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    return blocks if len(blocks) > 1 else [ln.strip() for ln in text.splitlines() if ln.strip()]


def _part(turn: Turn, word: str, unit: str, phrase: str) -> Reference | None:
    n = _index(word)
    unit = unit.lower()
    finals = [o for o in turn.outputs if o.final]
    if unit in ("one", "result", "part") and len(finals) > 1:
        out = finals[-1] if n == -1 else (finals[n - 1] if 1 <= n <= len(finals) else None)
        if out is None:
            return None
        return Reference(phrase, out.text, turn.run_id, out.task_id, f"output {n}")
    if unit in ("one", "result", "part"):
        unit = "paragraph"
    text = _pick(_parts(turn.final_text(), unit), n)
    if text is None:
        return None
    task = finals[0].task_id if len(finals) == 1 else None
    return Reference(phrase, text, turn.run_id, task, f"{unit} {n}")


def find(query: str, conversation: Conversation | None) -> list[Reference]:
    """The references of ``query`` to the conversation's latest turn (none without one)."""
    turn = conversation.last if conversation is not None else None
    if turn is None:
        return []
    refs: list[Reference] = []
    for m in _PART.finditer(query):
        ref = _part(turn, m.group(1), m.group(2), m.group(0))
        if ref is not None:
            refs.append(ref)
    if refs:
        return refs
    whole = _WHOLE.search(query)
    pronoun = _PRONOUN.search(query)
    phrase = whole.group(0) if whole else (pronoun.group(2) if pronoun else None)
    if phrase is None or not turn.final_text():
        return []
    finals = [o for o in turn.outputs if o.final]
    task = finals[0].task_id if len(finals) == 1 else None
    return [Reference(phrase, turn.final_text(), turn.run_id, task, "answer")]


def _mentions(t: SubTask, phrase: str) -> bool:
    pattern = re.compile(rf"\b{re.escape(phrase)}\b", re.IGNORECASE)
    texts = [t.description, *(t.input.get(k) for k in TEXT_FIELDS)]
    return any(isinstance(x, str) and pattern.search(x) for x in texts)


def attach(plan: ExecutionPlan, refs: list[Reference]) -> tuple[ExecutionPlan, list[str]]:
    """``plan`` with each reference's text in the input of the task that mentions it (or,
    when none does, of the plan's first task with no dependency); and one note per
    reference for the plan's reasons."""
    if not refs:
        return plan, []
    tasks = [t.model_copy(deep=True) for t in plan.tasks]
    notes: list[str] = []
    for ref in refs:
        targets = [t for t in tasks if _mentions(t, ref.phrase)]
        if not targets:
            targets = [t for t in tasks if not t.depends_on][:1]
        for t in targets:
            _give(t, ref)
            where = f"{ref.run_id or 'an earlier turn'}" + (
                f"/{ref.task_id}" if ref.task_id else ""
            )
            notes.append(f"{t.task_id}: {ref.phrase!r} resolved to {ref.part} of {where}")
    return plan.model_copy(update={"tasks": tasks}), notes


def _give(t: SubTask, ref: Reference) -> None:
    """The referenced text into the task's text field (the one the planner filled from the
    agent's input schema), after its instruction; ``text`` when it has none."""
    key = next((k for k in TEXT_FIELDS if isinstance(t.input.get(k), str)), None)
    if key is None:
        t.input["text"] = ref.text
        return
    pattern = re.compile(rf"\b{re.escape(ref.phrase)}\b", re.IGNORECASE)
    said = pattern.sub("the following text", t.input[key], count=1)
    t.input[key] = f"{said}\n\n{ref.text}"[:8000]
