"""``python -m bench.planning``: the planning benchmark, dev and test splits side by side.

Plans every request of the dev split (``requests.yaml`` and ``dev/*.yaml``) and, when it is
there, the test split (``test.yaml``, written by someone else and scored once at the end of
a change, never tuned to) against the five shipped workers' manifest (``manifest.json``,
written by ``snapshot.py``) with each planner, compares each plan with the expected
capabilities and dependencies, prints node F1, edge F1, valid plans, exact plans, honest
refusals and plan latency per planner and split (``--by lang`` / ``--by kind`` add a table per
language or kind), and writes ``results.json``.

``--llm URL`` adds the LLM planner against any OpenAI-compatible ``/v1`` (``--llm-model`` names
the model; the default is the embedded SmolLM2 served by the writer): ``llm`` is the model's
own plans (a refused answer is no plan), ``llm+fallback`` what a run does with it (the
planning facade: the LLM first with the no-LLM plan as its hint, that plan when the LLM's is
refused). ``--llm-limit N`` runs the LLM on N requests spread over each split only (SmolLM2
takes tens of seconds a plan on this CPU); the other planners are then scored on the same
subset in extra columns.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import platform
import time
from pathlib import Path
from typing import Any

import yaml

from bench.planning.score import Expected, Outcome, score_outcome, summarize
from mesh_contracts import AgentDescriptor, CapabilitiesManifest, manifest_of
from mesh_orchestrator.planning.deterministic import Planner, PlanningFailed
from mesh_orchestrator.planning.llm import PlanRejected, check_plan

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
TEST = HERE / "test.yaml"
TARGETS = {"node_f1": 0.95, "edge_f1": 0.9, "valid_rate": 1.0, "p50_ms": 25.0}


def load_manifest() -> CapabilitiesManifest:
    body = json.loads((HERE / "manifest.json").read_text())
    return manifest_of([AgentDescriptor.model_validate(d) for d in body], index=1)


def _read(path: Path, split: str) -> list[Expected]:
    return [Expected.parse(item, split) for item in yaml.safe_load(path.read_text()) or []]


def load_requests(split: str = "all", files: list[str] | None = None) -> list[Expected]:
    """The dev split (``requests.yaml`` + ``dev/*.yaml``) and/or the test split; ``files``:
    only these files of the dev split (a new batch scored alone, at first sight)."""
    out: list[Expected] = []
    if files:
        for name in files:
            out += _read(Path(name), "dev")
    elif split in ("dev", "all"):
        out += _read(HERE / "requests.yaml", "dev")
        for path in sorted((HERE / "dev").glob("*.yaml")):
            out += _read(path, "dev")
    if not files and split in ("test", "all") and TEST.is_file():
        out += _read(TEST, "test")
    ids = [r.id for r in out]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"duplicate request ids: {sorted(dupes)}")
    return out


async def run_planner(
    planner: Planner,
    manifest: CapabilitiesManifest,
    requests: list[Expected],
    progress: str | None = None,
) -> list[Outcome]:
    """Score ``planner`` on ``requests``; ``progress`` names it in a line per request (for
    slow planners: a run cut short still shows what it had)."""
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
        if progress:
            o = out[-1]
            print(
                f"[{progress}] {o.id}: {'exact' if o.exact else 'not exact'}, "
                f"{'valid' if o.valid else 'invalid'}, {ms / 1000:.1f}s: {o.got}",
                flush=True,
            )
    return out


ROWS = [
    ("requests", "requests", "{}"),
    ("node F1", "node_f1", "{:.3f}"),
    ("edge F1", "edge_f1", "{:.3f}"),
    ("valid plans", "valid_rate", "{:.1%}"),
    ("exact plans", "exact_rate", "{:.1%}"),
    ("honest refusals", "refusals", "{}"),
    ("inline data in input.data", "data_placed", "{}"),
    ("plan latency p50 (ms)", "p50_ms", "{:.1f}"),
    ("plan latency p99 (ms)", "p99_ms", "{:.1f}"),
]


def print_table(columns: dict[str, dict[str, Any]], rows: list[tuple[str, str, str]]) -> None:
    names = list(columns)
    width = max(12, *(len(n) + 2 for n in names))
    print(f"{'':28}" + "".join(f"{n:>{width}}" for n in names))
    for label, key, fmt in rows:
        cells = "".join(f"{fmt.format(columns[n][key]):>{width}}" for n in names)
        print(f"{label:28}{cells}")


def print_groups(outcomes: dict[str, list[Outcome]], by: str) -> None:
    """node F1 / edge F1 / exact per language or kind, one column per planner and split."""
    groups = sorted({getattr(o, by) for outs in outcomes.values() for o in outs})
    names = list(outcomes)
    width = max(18, *(len(n) + 2 for n in names))
    print(f"\nby {by} (node F1 / edge F1 / exact of n)")
    print(f"{'':18}" + "".join(f"{n:>{width}}" for n in names))
    for g in groups:
        cells = []
        for n in names:
            sub = [o for o in outcomes[n] if getattr(o, by) == g]
            if not sub:
                cells.append(f"{'-':>{width}}")
                continue
            s = summarize(sub)
            exact = sum(o.exact for o in sub)
            cells.append(f"{s['node_f1']:.2f}/{s['edge_f1']:.2f}/{exact}of{len(sub)}".rjust(width))
        print(f"{g:18}" + "".join(cells))


def _planners(args: argparse.Namespace) -> tuple[dict[str, Planner], dict[str, Any]]:
    from mesh_orchestrator.planning.deterministic import DeterministicPlanner

    planners: dict[str, Planner] = {"deterministic": DeterministicPlanner()}
    info: dict[str, Any] = {}
    intent: Any = None
    try:
        from mesh_orchestrator.planning.intent import IntentPlanner

        started = time.perf_counter()
        intent = IntentPlanner()
        intent.warm()
        info["intent_model_load_ms"] = round((time.perf_counter() - started) * 1000, 1)
        planners["intent"] = intent
        if args.edges:  # a learned edge model (edges.json, or the file named) deciding inputs
            from mesh_orchestrator.planning.intent.edges import learned

            model = learned(None if args.edges == "-" else args.edges)
            if model is None:
                raise SystemExit(f"no edge model at {args.edges}")
            with_edges = IntentPlanner(edges=model)
            with_edges.warm()
            planners["intent+edges"] = with_edges
        if args.rules:  # the rules alone deciding inputs, as the planner did before round 8
            rules = IntentPlanner(edges=None)
            rules.warm()
            planners["intent@rules"] = rules
        if args.intent_weights:  # another intent model (python -m bench.planning.train --out)
            other = IntentPlanner(args.intent_weights)
            other.warm()
            planners["intent@weights"] = other
    except ImportError:
        pass
    if args.semantic:
        from bench.planning.baseline.semantic import SemanticPlanner

        semantic = SemanticPlanner()
        started = time.perf_counter()
        semantic.warm()
        info["semantic_model_load_s"] = round(time.perf_counter() - started, 2)
        planners["semantic"] = semantic
    if args.llm:
        from bench.planning.llm import llm_planners

        planners.update(llm_planners(args.llm, args.llm_model, intent))
    if args.only:
        planners = {k: v for k, v in planners.items() if k in args.only}
    return planners, info


async def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.planning")
    ap.add_argument("--split", choices=["dev", "test", "all"], default="all")
    ap.add_argument("--llm", metavar="URL", help="also run the LLM planner against this /v1")
    ap.add_argument("--llm-model", default="smollm2-135m-instruct")
    ap.add_argument("--llm-limit", type=int, default=None, metavar="N")
    ap.add_argument("--semantic", action="store_true", help="also the MiniLM semantic planner")
    ap.add_argument("--only", action="append", metavar="PLANNER")
    ap.add_argument(
        "--edges",
        nargs="?",
        const="-",
        metavar="JSON",
        help="also the intent planner with another edge model (planner intent+edges): the "
        "shipped edges.json, or one written by python -m bench.planning.train.edges --out JSON",
    )
    ap.add_argument(
        "--rules",
        action="store_true",
        help="also the intent planner with the rules alone deciding inputs (intent@rules)",
    )
    ap.add_argument(
        "--intent-weights",
        metavar="NPZ",
        help="also the intent planner with this model (planner intent@weights), e.g. one "
        "written by python -m bench.planning.train --dev-weight 10 --out NPZ",
    )
    ap.add_argument(
        "--file",
        action="append",
        metavar="YAML",
        help="score only this file of requests (a new dev batch alone, at first sight)",
    )
    ap.add_argument("--by", choices=["lang", "kind"], action="append", default=[])
    ap.add_argument("--show", action="store_true", help="print every plan that is not exact")
    ap.add_argument("--out", default=str(RESULTS), help="where to write the results JSON")
    ap.add_argument(
        "--synthesis",
        action="store_true",
        help="also run the analyst/lookup requests end to end and score the syntheses",
    )
    ap.add_argument("--synthesis-llm", metavar="URL", help="with --synthesis: the LLM's /v1")
    ap.add_argument("--synthesis-llm-limit", type=int, default=None, metavar="N")
    args = ap.parse_args()
    manifest, requests = load_manifest(), load_requests(args.split, args.file)
    splits = [s for s in ("dev", "test") if any(r.split == s for r in requests)]
    if not splits:
        print(f"no requests in the {args.split} split (the test split is {TEST.name}, absent here)")
        return 0
    planners, info = _planners(args)
    for p in planners.values():  # the capability index of each planner, built once
        with contextlib.suppress(PlanningFailed, PlanRejected):
            await p.plan("write a poem", manifest)
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "requests": {s: sum(r.split == s for r in requests) for s in splits},
        **info,
        "targets": TARGETS,
        "planners": {},
    }
    columns: dict[str, dict[str, Any]] = {}
    outcomes: dict[str, list[Outcome]] = {}
    for name, planner in planners.items():
        limited = name.startswith("llm") and args.llm_limit is not None
        for split in splits:
            todo = [r for r in requests if r.split == split]
            if limited:  # every k-th request: a spread over the split, not its first lines
                step = max(1, len(todo) // max(1, args.llm_limit))
                todo = todo[::step][: args.llm_limit]
            outs = await run_planner(planner, manifest, todo, name if limited else None)
            col = f"{name} {split}"
            columns[col] = summarize(outs)
            outcomes[col] = outs
            results["planners"][col] = {
                "summary": columns[col],
                "requests": [o.as_dict() for o in outs],
            }
            if args.show:
                for o in outs:
                    if not o.exact:
                        print(f"[{col}] {o.id}: expected {o.expected} got {o.got}  {o.note[:200]}")
    if args.llm and args.llm_limit is not None:  # the others on the LLM's subset, to compare
        for name in [n for n in planners if not n.startswith("llm")]:
            for split in splits:
                ids = {o.id for o in outcomes.get(f"llm {split}", [])}
                sub = [o for o in outcomes[f"{name} {split}"] if o.id in ids]
                columns[f"{name} {split}/llm"] = summarize(sub)
    print(
        ", ".join(f"{n} {s} requests" for s, n in results["requests"].items())
        + (" (no test.yaml: the test split is not here)" if "test" not in splits else "")
        + "; "
        + ", ".join(f"{k} {v}" for k, v in info.items())
        + "\n"
    )
    print_table(columns, ROWS)
    for by in args.by:
        print_groups(outcomes, by)
    for split in splits:
        col = f"intent {split}"
        if col in columns:
            s = columns[col]
            missed = [k for k, v in TARGETS.items() if (s[k] > v if k == "p50_ms" else s[k] < v)]
            print(
                f"\nintent {split} targets: "
                + ("all met" if not missed else "missed " + ", ".join(missed))
            )
    if args.synthesis:
        from bench.planning import synthesis

        results["synthesis"] = await synthesis.run(
            [r for r in requests if r.split == "dev"],
            manifest,
            planners.get("intent") or next(iter(planners.values())),
            llm_url=args.synthesis_llm,
            llm_model=args.llm_model,
            llm_limit=args.synthesis_llm_limit,
        )
    _write(args.out, json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")
    return 0


def _write(path: str, text: str) -> None:
    Path(path).write_text(text)


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
