"""The final answer of a run, merged from its sub-task results.

``Synthesizer`` is the protocol (an LLM synthesizer streams its answer through
``on_token`` and plugs in here); ``DeterministicSynthesizer`` writes a structured merge in
plan order and states failures plainly, with no model.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from mesh_contracts import ExecutionPlan, RunStatus

OnToken = Callable[[str], Awaitable[None]]


class Synthesizer(Protocol):
    async def synthesize(
        self,
        query: str,
        plan: ExecutionPlan,
        results: Mapping[str, Mapping[str, Any]],
        on_token: OnToken,
    ) -> str:
        """The answer. ``results[task_id]`` has status, output, error and agent_id."""
        ...


def run_status(results: Mapping[str, Mapping[str, Any]]) -> RunStatus:
    """completed when every task completed, failed when none did, partial otherwise."""
    done = sum(1 for r in results.values() if r.get("status") == "completed")
    if results and done == len(results):
        return RunStatus.COMPLETED
    return RunStatus.PARTIAL if done else RunStatus.FAILED


def _text(output: Any) -> str:
    if output is None:
        return "(no output)"
    if isinstance(output, str):
        return output.strip() or "(empty output)"
    if isinstance(output, dict) and isinstance(output.get("conclusion"), str):
        return str(output["conclusion"])
    return json.dumps(output, ensure_ascii=False, indent=2, default=str)


class DeterministicSynthesizer:
    """One section per sub-task, in plan order; failed/skipped tasks say why."""

    name = "deterministic"

    async def synthesize(
        self,
        query: str,
        plan: ExecutionPlan,
        results: Mapping[str, Mapping[str, Any]],
        on_token: OnToken,
    ) -> str:
        return merge(plan, results)


def merge(plan: ExecutionPlan, results: Mapping[str, Mapping[str, Any]]) -> str:
    sections: list[str] = []
    for t in plan.tasks:
        r = results.get(t.task_id, {"status": "skipped", "error": "not run"})
        title = t.description or t.capability
        who = f" ({r['agent_id']})" if r.get("agent_id") else ""
        status = r.get("status")
        if status == "completed":
            sections.append(f"## {t.task_id}: {title}{who}\n\n{_text(r.get('output'))}")
        else:
            reason = r.get("error") or "no result"
            sections.append(f"## {t.task_id}: {title}{who}\n\n{str(status).upper()}: {reason}")
    failed = [t for t, r in results.items() if r.get("status") != "completed"]
    if failed:
        sections.append(
            f"{len(failed)} of {len(results)} sub-tasks did not complete: "
            + ", ".join(failed)
            + "."
        )
    return "\n\n".join(sections)
