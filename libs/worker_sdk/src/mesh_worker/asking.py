"""Workers that ask the user mid-run: one call for a worker author.

```python
async def run(self, task, inp, emit):
    ctx = Asker(task, emit)
    style = await ctx.ask("Which style?", choices=["haiku", "limerick"])
    ...  # goes on with the answer
```

How it works: the first call of the task reaches ``ask``, which emits an
``InputRequiredEvent`` (the question, its choices or answer schema) and ends the run (the
SDK catches ``InputNeeded``: no error, the stream ends with ``done``). The orchestrator parks
the task until the user answers, then calls the worker again with every answer so far in
``task.context["@input"]["answers"]``; the run starts over and each ``ask`` returns its
answer in order, so the second question is asked only on the second call, and so on. The
work before an ``ask`` runs again on each call: ask first, or keep it cheap.
"""

from __future__ import annotations

from typing import Any

from mesh_contracts import InputRequiredEvent, TaskRequest
from mesh_worker.worker import Emit

#: Where the orchestrator puts the answers in ``TaskRequest.context`` (never a task id).
INPUT_CONTEXT = "@input"


class InputNeeded(Exception):
    """Raised by ``Asker.ask`` after emitting its question: the run ends here (the SDK
    turns it into the end of the stream, not an error)."""

    def __init__(self, question: str) -> None:
        super().__init__(f"input required: {question[:80]}")
        self.question = question


class Asker:
    """Asks the user through the orchestrator; one per run of ``task``."""

    def __init__(self, task: TaskRequest, emit: Emit) -> None:
        given = task.context.get(INPUT_CONTEXT)
        answers = given.get("answers") if isinstance(given, dict) else None
        self.answers: list[Any] = list(answers) if isinstance(answers, list) else []
        self.emit = emit
        self.asked = 0

    async def ask(
        self,
        question: str,
        *,
        choices: list[str] | None = None,
        schema: dict[str, Any] | None = None,
    ) -> Any:
        """The user's answer to ``question`` (one of ``choices`` when given; it fits
        ``schema`` when given: the orchestrator checks both before the worker sees it)."""
        self.asked += 1
        if self.asked <= len(self.answers):
            return self.answers[self.asked - 1]
        await self.emit(
            InputRequiredEvent(question=question, choices=choices, answer_schema=schema)
        )
        raise InputNeeded(question)
