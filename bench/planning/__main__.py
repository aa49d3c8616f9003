"""``python -m bench.planning [--llm URL] [--only NAME]``: the planning benchmark.

Plans every request of ``requests.yaml`` against the five shipped workers' manifest
(``manifest.json``, written by ``snapshot.py``) with each planner, compares each plan with
the expected capabilities and dependencies, prints node F1, edge F1, valid-plan rate,
honest refusals and plan latency side by side, and writes ``results.json``. The LLM planner
runs only with ``--llm`` (an OpenAI-compatible base URL, e.g. the writer's
``http://127.0.0.1:8001/v1``): the embedded SmolLM2 takes minutes for the whole set.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time
from pathlib import Path
from typing import Any

import yaml

from bench.planning.score import Expected, Outcome, score_outcome, summarize
from mesh_contracts import AgentDescriptor, CapabilitiesManifest, manifest_of
from mesh_orchestrator.planning.deterministic import DeterministicPlanner, Planner, PlanningFailed
from mesh_orchestrator.planning.llm import PlanRejected, check_plan
from mesh_orchestrator.planning.semantic import SemanticPlanner

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
TARGETS = {"node_f1": 0.95, "edge_f1": 0.9, "valid_rate": 1.0, "p50_ms": 50.0}


def load_manifest() -> CapabilitiesManifest:
    body = json.loads((HERE / "manifest.json").read_text())
    return manifest_of([AgentDescriptor.model_validate(d) for d in body], index=1)


def load_requests() -> list[Expected]:
    return [Expected.parse(item) for item in yaml.safe_load((HERE / "requests.yaml").read_text())]


async def run_planner(
    name: str, planner: Planner, manifest: CapabilitiesManifest, requests: list[Expected]
) -> list[Outcome]:
    out = []
    for req in requests:
        started = time.perf_counter()
        plan, refusal = None, None
        try:
            plan = await planner.plan(req.request, manifest)
        except (PlanningFailed, PlanRejected) as exc:
            refusal = str(exc)
        ms = (time.perf_counter() - started) * 1000
        problem = None
        if plan is not None:
            try:
                check_plan(plan.model_dump(mode="json"), manifest)
            except PlanRejected as exc:
                problem = exc.reason
        out.append(score_outcome(req, plan, refusal, problem, ms))
    return out


def _llm_planner(url: str, model: str) -> Planner:
    from mesh_orchestrator.llm import build_chat_model
    from mesh_orchestrator.planning.llm import LLMPlanner
    from mesh_orchestrator.settings import Settings

    settings = Settings(llm_base_url=url, llm_model=model, llm_temperature=0.0)
    return LLMPlanner(
        build_chat_model(settings, max_tokens=settings.llm_plan_max_tokens),
        timeout_seconds=settings.llm_timeout_seconds,
    )


def print_table(summaries: dict[str, dict[str, Any]]) -> None:
    rows = [
        ("node F1", "node_f1", "{:.3f}"),
        ("edge F1", "edge_f1", "{:.3f}"),
        ("valid plans", "valid_rate", "{:.1%}"),
        ("exact plans", "exact_rate", "{:.1%}"),
        ("honest refusals", "refusals", "{}"),
        ("inline data in input.data", "data_placed", "{}"),
        ("plan latency p50 (ms)", "p50_ms", "{:.1f}"),
        ("plan latency p99 (ms)", "p99_ms", "{:.1f}"),
    ]
    names = list(summaries)
    width = max(14, *(len(n) + 2 for n in names))
    print(f"{'':28}" + "".join(f"{n:>{width}}" for n in names))
    for label, key, fmt in rows:
        cells = "".join(f"{fmt.format(summaries[n][key]):>{width}}" for n in names)
        print(f"{label:28}{cells}")


async def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.planning")
    ap.add_argument("--llm", metavar="URL", help="also run the LLM planner against this /v1")
    ap.add_argument("--llm-model", default="smollm2-135m-instruct")
    ap.add_argument("--only", choices=["deterministic", "semantic", "llm"], action="append")
    ap.add_argument("--show", action="store_true", help="print every plan that is not exact")
    ap.add_argument(
        "--synthesis",
        action="store_true",
        help="also run the analyst/lookup requests end to end and score the syntheses",
    )
    ap.add_argument("--synthesis-llm", metavar="URL", help="with --synthesis: the LLM's /v1")
    ap.add_argument("--synthesis-llm-limit", type=int, default=None, metavar="N")
    args = ap.parse_args()
    manifest, requests = load_manifest(), load_requests()
    planners: dict[str, Planner] = {"deterministic": DeterministicPlanner()}
    semantic = SemanticPlanner()
    started = time.perf_counter()
    semantic.warm()
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    await semantic.plan("write a poem", manifest)  # builds the capability vectors once
    index_ms = (time.perf_counter() - started) * 1000
    planners["semantic"] = semantic
    if args.llm:
        planners["llm"] = _llm_planner(args.llm, args.llm_model)
    if args.only:
        planners = {k: v for k, v in planners.items() if k in args.only}
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "requests": len(requests),
        "semantic_model_load_s": round(load_s, 2),
        "semantic_index_build_ms": round(index_ms, 1),
        "targets": TARGETS,
        "planners": {},
    }
    summaries = {}
    for name, planner in planners.items():
        outcomes = await run_planner(name, planner, manifest, requests)
        summaries[name] = summarize(outcomes)
        results["planners"][name] = {
            "summary": summaries[name],
            "requests": [o.as_dict() for o in outcomes],
        }
        if args.show:
            for o in outcomes:
                if not o.exact:
                    print(f"[{name}] {o.id}: expected {o.expected} got {o.got}  {o.note[:160]}")
    print(
        f"{len(requests)} requests; semantic model load {load_s:.1f}s, "
        f"capability vectors {index_ms:.0f} ms (once per registry change)\n"
    )
    print_table(summaries)
    if "semantic" in summaries:
        s = summaries["semantic"]
        missed = [k for k, v in TARGETS.items() if (s[k] > v if k == "p50_ms" else s[k] < v)]
        print("\nsemantic targets: " + ("all met" if not missed else "missed " + ", ".join(missed)))
    if args.synthesis:
        from bench.planning import synthesis

        results["synthesis"] = await synthesis.run(
            requests,
            manifest,
            semantic,
            llm_url=args.synthesis_llm,
            llm_model=args.llm_model,
            llm_limit=args.synthesis_llm_limit,
        )
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(HERE.parent.parent)}")
    return 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
