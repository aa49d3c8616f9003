"""The final answer of a run, merged from its sub-task results.

``Synthesizer`` is the protocol (an LLM synthesizer streams its answer through
``on_token`` and plugs in here); ``DeterministicSynthesizer`` answers with no model: the
output of the plan's final steps first, upstream results after it as short sources, and
failures stated plainly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from mesh_contracts import ExecutionPlan, RunStatus
from mesh_orchestrator.synthesis.answer import as_text, brief, label, ordered

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
    """completed when every task completed (or was a branch not taken: ``not_taken``),
    failed when none did, partial otherwise."""
    done = sum(1 for r in results.values() if r.get("status") == "completed")
    not_taken = sum(1 for r in results.values() if r.get("not_taken"))
    if results and done and done + not_taken == len(results):
        return RunStatus.COMPLETED
    return RunStatus.PARTIAL if done else RunStatus.FAILED


class DeterministicSynthesizer:
    """The answer with no model: the final steps' output first, the rest as sources."""

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
    """Lead with what the plan's final steps (its sinks) made, in plain text, each under a
    short label when there are several; then the upstream steps as labelled one-line
    sources (a lookup as its best passage and source, an analysis as its conclusion); then
    what did not complete."""
    order = ordered(plan)
    lead: list[str] = []
    for t in order.sinks:
        r = results.get(t.task_id, {"status": "skipped", "error": "not run"})
        if r.get("status") == "completed":
            text = as_text(r.get("output"))
            lead.append(f"{label(t)}\n{text}" if len(order.sinks) > 1 else text)
    sources = []
    for t in order.upstream:
        r = results.get(t.task_id, {})
        if r.get("status") == "completed":
            sources.append(f"- [{t.task_id} {t.capability}] {brief(r.get('output'))}")
    sections = ["\n\n".join(lead)] if lead else []
    if sources:
        sections.append("Sources:\n" + "\n".join(sources))
    failed = [
        f"- {t.task_id} ({t.description or t.capability}): "
        f"{str(results.get(t.task_id, {}).get('status', 'skipped')).upper()}: "
        f"{results.get(t.task_id, {}).get('error') or 'not run'}"
        for t in plan.tasks
        if results.get(t.task_id, {}).get("status") != "completed"
        and not results.get(t.task_id, {}).get("not_taken")
    ]
    not_taken = [
        f"- {t.task_id}: {results[t.task_id].get('error') or 'not taken'}"
        for t in plan.tasks
        if results.get(t.task_id, {}).get("not_taken")
    ]
    if failed:
        sections.append(
            f"{len(failed)} of {len(plan.tasks)} sub-tasks did not complete:\n" + "\n".join(failed)
        )
    if not_taken:
        sections.append("Branches not taken:\n" + "\n".join(not_taken))
    return "\n\n".join(s for s in sections if s) or "(no output)"
