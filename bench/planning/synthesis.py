"""``make bench-plan ARGS=--synthesis``: does the answer lead with the final step's output, and
does it carry what the sub-tasks found?

On the dev split's requests that the shipped analyst and lookup serve, alone or followed by
writing steps (summaries, translations, text), each request is planned by the intent planner
and its tasks run in plan order: search and analysis by the real worker classes in process
(``LookupWorker`` over its shipped knowledge base, ``AnalystWorker``; upstream outputs go in
``context`` as the relay sends them), writing steps by ``StandInWriter`` (a marked sentence:
SmolLM2 would add minutes and measure nothing about synthesis). The results are then merged
by the deterministic synthesis, by the merge it replaced (plan order, raw JSON: the
baseline) and, with ``--synthesis-llm URL``, by the LLM synthesis (the orchestrator's
``LLMSynthesizer`` against an OpenAI-compatible ``/v1``, e.g. the writer's SmolLM2) on the
first ``--synthesis-llm-limit`` requests.

An answer **leads with a final step** when its first line of content is the start of the
output of one of the plan's sinks (the tasks no other task reads). A sub-task's **key facts**
are the salient tokens of what it found (``key_facts``): the numbers and proper names, else
the longest words, of the analyst's conclusion or of the lookup's best passage, at most
five. An answer **carries** a sub-task when at least 60% of its facts appear in it
(case-insensitive); a request counts when its answer carries every completed sub-task.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.planning.score import Expected
from mesh_contracts import CapabilitiesManifest, ExecutionPlan, TaskRequest, WorkerEvent
from mesh_orchestrator.planning.deterministic import Planner, PlanningFailed
from mesh_orchestrator.synthesis.answer import as_text, ordered
from mesh_orchestrator.synthesis.deterministic import DeterministicSynthesizer, Synthesizer

SERVED = frozenset({"search", "data_analysis"})
# Writer tasks run on a stand-in (bench only): the sink-first measure needs chains that end in
# writing ("find X, then explain it in French"), and SmolLM2 would add minutes measuring
# nothing about synthesis. Its output is a marked sentence, so whether an answer leads with
# it is plain to see.
WRITTEN = frozenset({"text_generation", "summarization", "translation"})
CARRIED = 0.6  # share of a sub-task's key facts an answer must hold
MAX_FACTS = 5
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?%?")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


def key_facts(output: Any) -> list[str]:
    """The salient tokens of one sub-task's output (see the module docstring)."""
    text = _prose(output)
    facts: list[str] = []
    for m in _NUMBER.finditer(text):
        n = m.group(0).rstrip("%").replace(",", "")
        if len(n.strip("-").replace(".", "")) >= 2:
            facts.append(n)
    sentences = re.split(r"(?<=[.!?])\s+", text)
    for s in sentences:
        words = _WORD.findall(s)
        facts += [w for w in words[1:] if w[0].isupper() and len(w) >= 3]
    if len(facts) < MAX_FACTS:
        long_words = sorted(set(_WORD.findall(text)), key=lambda w: (-len(w), w))
        facts += [w for w in long_words if len(w) >= 8]
    seen: dict[str, None] = {}
    for f in facts:
        seen.setdefault(f.lower(), None)
    return list(seen)[:MAX_FACTS]


def _prose(output: Any) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, dict):
        if isinstance(output.get("conclusion"), str):
            return str(output["conclusion"])
        hits = output.get("results")
        if isinstance(hits, list) and not hits:
            return str(output.get("message") or "")  # found nothing: no facts to carry
        if isinstance(hits, list) and hits and isinstance(hits[0], dict):
            top = hits[0]
            return f"{top.get('title', '')}. {str(top.get('passage', ''))[:400]}"
    return json.dumps(output, ensure_ascii=False, default=str)


def carried(answer: str, facts: list[str]) -> float:
    if not facts:
        return 1.0
    low = answer.lower().replace(",", "")
    return sum(f in low for f in facts) / len(facts)


@dataclass
class Ran:
    """One request run end to end: its plan, every sub-task's result, and its facts."""

    id: str
    query: str
    plan: ExecutionPlan
    results: dict[str, dict[str, Any]]
    facts: dict[str, list[str]] = field(default_factory=dict)


class StandInWriter:
    """Not the writer: returns a marked sentence for a writing task (bench only)."""

    class Input:
        @staticmethod
        def model_validate(value: Any) -> Any:
            return value

    async def run(self, task: TaskRequest, inp: Any, emit: Any) -> str:
        return f"WRITTEN-{task.task_id}: the writer's answer for {task.task_id} goes here."


def plan_order_merge(plan: ExecutionPlan, results: Mapping[str, Mapping[str, Any]]) -> str:
    """The merge before answers led with the final steps (one section per task in plan
    order, raw JSON for structured outputs), kept here as the baseline."""
    sections = []
    for t in plan.tasks:
        r = results.get(t.task_id, {})
        out = r.get("output")
        text = out if isinstance(out, str) else json.dumps(out, ensure_ascii=False, indent=2)
        if isinstance(out, dict) and isinstance(out.get("conclusion"), str):
            text = out["conclusion"]
        sections.append(f"## {t.task_id}: {t.description or t.capability}\n\n{text}")
    return "\n\n".join(sections)


class _PlanOrder:
    name = "plan order"

    async def synthesize(
        self,
        query: str,
        plan: ExecutionPlan,
        results: Mapping[str, Mapping[str, Any]],
        on_token: Any,
    ) -> str:
        return plan_order_merge(plan, results)


def sink_first(answer: str, ran: Ran) -> bool:
    """Whether the answer's first line of content is the start of a final step's output."""
    sinks = [t.task_id for t in ordered(ran.plan).sinks]
    lines = [ln for ln in answer.strip().splitlines() if ln.strip()]
    first = next((ln for ln in lines if not ln.startswith("[")), "")
    for k in sinks:
        r = ran.results.get(k, {})
        if r.get("status") != "completed":
            continue
        head = " ".join(as_text(r.get("output")).split())[:40].lower()
        if head and " ".join(first.split()).lower().startswith(head[: len(first)][:40]):
            return True
    return False


async def _workers() -> dict[str, Any]:
    from mesh_worker_analyst.worker import AnalystWorker
    from mesh_worker_lookup.worker import LookupWorker

    lookup = LookupWorker()
    await lookup.startup()
    writer = StandInWriter()
    return {"search": lookup, "data_analysis": AnalystWorker(), **dict.fromkeys(WRITTEN, writer)}


async def run_requests(
    requests: list[Expected], manifest: CapabilitiesManifest, planner: Planner
) -> list[Ran]:
    """Plan and run every request the analyst and lookup serve (with the writer's stand-in
    for writing steps), at least one analyst or lookup task in each."""
    workers = await _workers()
    out: list[Ran] = []
    for req in requests:
        caps = set(req.caps)
        if not caps & SERVED or not caps <= SERVED | WRITTEN:
            continue
        try:
            plan = await planner.plan(req.request, manifest)
        except PlanningFailed:
            continue
        if not {t.capability for t in plan.tasks} <= SERVED | WRITTEN:
            continue
        results: dict[str, dict[str, Any]] = {}
        for t in plan.tasks:
            worker = workers[t.capability]
            context = {d: results[d]["output"] for d in t.depends_on if d in results}
            task = TaskRequest(task_id=t.task_id, input=t.input, context=context)

            async def emit(event: WorkerEvent) -> None:
                return None

            try:
                inp = worker.Input.model_validate(t.input)
                output = await worker.run(task, inp, emit)
                results[t.task_id] = {"status": "completed", "output": output, "error": None}
            except Exception as exc:  # an input the worker refuses: the task failed
                results[t.task_id] = {"status": "failed", "output": None, "error": str(exc)}
        ran = Ran(req.id, req.request, plan, results)
        ran.facts = {
            k: key_facts(r["output"]) for k, r in results.items() if r["status"] == "completed"
        }
        out.append(ran)
    return out


async def score(
    name: str, synth: Synthesizer, runs: list[Ran], limit: int | None = None
) -> dict[str, Any]:
    """The share of answers that carry every completed sub-task's key facts, the mean share
    of facts carried, and the synthesis latency."""

    async def on_token(token: str) -> None:
        return None

    rows = []
    for ran in runs[:limit]:
        started = time.perf_counter()
        try:
            answer = await synth.synthesize(ran.query, ran.plan, ran.results, on_token)
            error = None
        except Exception as exc:  # an LLM that timed out or refused: nothing carried
            answer, error = "", f"{type(exc).__name__}: {exc}"
        ms = (time.perf_counter() - started) * 1000
        shares = {k: carried(answer, f) for k, f in ran.facts.items()}
        rows.append(
            {
                "id": ran.id,
                "sink_first": sink_first(answer, ran),
                "carries_all": all(s >= CARRIED for s in shares.values()),
                "fact_share": sum(shares.values()) / max(1, len(shares)),
                "ms": round(ms, 1),
                "facts": ran.facts,
                "answer": answer[:600],
                "error": error,
            }
        )
    n = max(1, len(rows))
    ms = sorted(r["ms"] for r in rows) or [0.0]
    return {
        "synthesis": name,
        "requests": len(rows),
        "carries_all_rate": sum(r["carries_all"] for r in rows) / n,
        "sink_first_rate": sum(r["sink_first"] for r in rows) / n,
        "mean_fact_share": sum(r["fact_share"] for r in rows) / n,
        "p50_ms": ms[len(ms) // 2],
        "rows": rows,
    }


def llm_synthesizer(url: str, model: str) -> Synthesizer:
    from mesh_orchestrator.llm import build_chat_model
    from mesh_orchestrator.settings import Settings
    from mesh_orchestrator.synthesis.llm import LLMSynthesizer

    settings = Settings(llm_base_url=url, llm_model=model, llm_temperature=0.0)
    return LLMSynthesizer(
        build_chat_model(settings, max_tokens=settings.llm_synthesis_max_tokens),
        model_name=model,
        first_token_timeout=settings.llm_timeout_seconds,
        total_timeout=settings.llm_timeout_seconds * 5,
    )


async def run(
    requests: list[Expected],
    manifest: CapabilitiesManifest,
    planner: Planner,
    *,
    llm_url: str | None,
    llm_model: str,
    llm_limit: int | None,
    show: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Both syntheses side by side (the LLM one only with ``llm_url``); prints the table."""
    runs = await run_requests(requests, manifest, planner)
    tasks = sum(len(r.results) for r in runs)
    done = sum(1 for r in runs for x in r.results.values() if x["status"] == "completed")
    table: dict[str, Mapping[str, Any]] = {
        "deterministic": await score("deterministic", DeterministicSynthesizer(), runs),
        "plan order (before)": await score("plan order", _PlanOrder(), runs),
    }
    if llm_url:
        llm = llm_synthesizer(llm_url, llm_model)
        table["llm"] = await score("llm", llm, runs, llm_limit)
        # the deterministic merge on the same subset, for a like-for-like comparison
        table["deterministic (same subset)"] = await score(
            "deterministic", DeterministicSynthesizer(), runs, llm_limit
        )
    show(
        f"\nsynthesis: {len(runs)} requests run end to end by analyst + lookup (+ writer stand-in) "
        f"({done}/{tasks} sub-tasks completed)"
    )
    width = max(16, *(len(n) + 2 for n in table))
    show(f"{'':40}" + "".join(f"{n:>{width}}" for n in table))
    for label, key, fmt in (
        ("requests scored", "requests", "{}"),
        ("answers leading with a final step", "sink_first_rate", "{:.1%}"),
        ("answers carrying every result's facts", "carries_all_rate", "{:.1%}"),
        ("mean share of facts carried", "mean_fact_share", "{:.1%}"),
        ("synthesis p50 (ms)", "p50_ms", "{:.0f}"),
    ):
        show(f"{label:40}" + "".join(f"{fmt.format(t[key]):>{width}}" for t in table.values()))
    return {"requests_run": len(runs), "table": table}
