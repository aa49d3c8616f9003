"""What an answer is made of: the plan's final steps, and each output as plain text.

A plan's **sinks** are the tasks no other task reads: what the user asked for last ("explain
it in French" after a lookup). An answer leads with them; the **upstream** tasks they were
made from follow as sources. ``as_text`` is an output as the user reads it (a lookup's best
passage and its source, an analysis's conclusion, an image's link, never raw JSON);
``brief`` the same in one short line. The deterministic and the LLM synthesis, the CLI and
the dashboard all put an answer in this order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mesh_contracts import ExecutionPlan, SubTask

BRIEF_CHARS = 400


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


def _hits(output: dict[str, Any]) -> list[dict[str, Any]]:
    hits = output.get("results")
    return [h for h in hits if isinstance(h, dict)] if isinstance(hits, list) else []


def as_text(output: Any) -> str:
    """An output as the user reads it."""
    if output is None:
        return "(no output)"
    if isinstance(output, str):
        return output.strip() or "(empty output)"
    if isinstance(output, dict):
        if isinstance(output.get("conclusion"), str):
            return str(output["conclusion"])
        hits = _hits(output)
        if hits:
            top = hits[0]
            source = top.get("source") or top.get("title") or ""
            passage = str(top.get("passage") or top.get("title") or "").strip()
            return passage + (f"\n(source: {source})" if source else "")
        if "results" in output and isinstance(output.get("message"), str):
            return str(output["message"])  # a lookup that found nothing says so
        for key in ("text", "answer", "content", "message"):
            if isinstance(output.get(key), str):
                return str(output[key])
        if isinstance(output.get("url"), str):
            kind = "image" if "width" in output else str(output.get("kind") or "artifact")
            return f"{kind}: {output['url']}"
    return json.dumps(output, ensure_ascii=False, default=str)


def brief(output: Any) -> str:
    """``as_text`` on one line, at most ``BRIEF_CHARS`` characters."""
    text = " ".join(as_text(output).split())
    return text if len(text) <= BRIEF_CHARS else text[: BRIEF_CHARS - 1] + "\u2026"
