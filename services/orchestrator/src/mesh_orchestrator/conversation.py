"""What a run on a thread knows of the thread: its earlier turns, oldest first.

A ``Turn`` is one earlier request with its answer and the outputs of its sub-tasks (final
steps first, as the answer leads with them). ``Conversation`` is built by ``runs.threads``
from the thread's stored runs (or from an OpenAI ``messages`` list), read by the planning
facade (reference resolution, ``planning.references``), the executor (the writer sees it
as context) and the LLM synthesis. Plain data, JSON in the run's state.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

#: The conversation shown to a writer or the synthesis is cut to this many characters,
#: the oldest turns giving way first.
MAX_CONVERSATION_CHARS = 6000


class Output(BaseModel):
    """One sub-task output of an earlier run, as text."""

    task_id: str
    capability: str = ""
    text: str
    final: bool = True  # a final step of its run (no task depends on it)


class Turn(BaseModel):
    run_id: str | None = None
    query: str
    answer: str = ""
    outputs: list[Output] = Field(default_factory=list)  # final steps first

    def final_text(self) -> str:
        """What "that" refers to: the final steps' outputs (the answer's lead), else the
        answer."""
        finals = [o.text for o in self.outputs if o.final]
        return "\n\n".join(finals) if finals else self.answer


class Conversation(BaseModel):
    turns: list[Turn] = Field(default_factory=list)

    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def render(self, limit: int = MAX_CONVERSATION_CHARS) -> str:
        """The earlier turns as ``User:``/``Assistant:`` lines, newest kept whole first."""
        parts: list[str] = []
        room = limit
        for turn in reversed(self.turns):
            text = f"User: {turn.query}\nAssistant: {turn.answer}"
            if len(text) > room:
                if not parts:
                    parts.append(text[:room])
                break
            parts.append(text)
            room -= len(text) + 2
        return "\n\n".join(reversed(parts))


def as_text(value: Any) -> str:
    """An output as text: strings as they are, an answer-like dict by its text field."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        for key in ("text", "answer", "content", "summary", "conclusion"):
            if isinstance(value.get(key), str):
                return str(value[key]).strip()
    return json.dumps(value, ensure_ascii=False, default=str)


def turn_of(run_id: str, query: str, answer: str | None, plan: list[dict[str, Any]] | None) -> Turn:
    """A stored run as a turn: its completed sub-tasks' outputs, final steps first."""
    nodes = [
        n for n in plan or [] if n.get("status") == "completed" and n.get("output") is not None
    ]
    used = {d for n in plan or [] for d in n.get("depends_on") or []}
    finals = [n for n in nodes if n["task_id"] not in used]
    rest = [n for n in nodes if n["task_id"] in used]
    outputs = [
        Output(
            task_id=n["task_id"],
            capability=str(n.get("capability", "")),
            text=as_text(n["output"]),
            final=n in finals,
        )
        for n in finals + rest
    ]
    return Turn(run_id=run_id, query=query, answer=answer or "", outputs=outputs)
