"""What an answer is made of: the plan's final steps, and each output as plain text.

A plan's **sinks** are the tasks no other task reads: what the user asked for last ("explain
it in French" after a lookup). An answer leads with them; the **upstream** tasks they were
made from follow as sources. ``as_text`` is an output as the user reads it (a lookup's best
passage and its source, an analysis's conclusion, an image's link, never raw JSON);
``brief`` the same in one short line. The deterministic and the LLM synthesis, the CLI and
the dashboard all put an answer in this order.
"""

from __future__ import annotations

from dataclasses import dataclass

from mesh_contracts import ExecutionPlan, SubTask
from mesh_contracts.readable import BRIEF_CHARS, as_text, brief

__all__ = ["BRIEF_CHARS", "Order", "as_text", "brief", "label", "ordered"]


@dataclass
class Order:
    sinks: list[SubTask]
    upstream: list[SubTask]


def ordered(plan: ExecutionPlan) -> Order:
    read = {d for t in plan.tasks for d in t.depends_on}
    return Order(
        sinks=[t for t in plan.tasks if t.task_id not in read],
        upstream=[t for t in plan.tasks if t.task_id in read],
    )


def label(task: SubTask) -> str:
    words = (task.description or task.capability).strip()
    return f"[{task.task_id} {task.capability}] {words[:80]}"
