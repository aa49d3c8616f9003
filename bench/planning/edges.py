"""``python -m bench.planning.edges``: train the intent planner's edge model, or estimate it.

The edge model (``planning/intent/edges.py``) decides, for every pair of planned tasks, whether
the later one reads the earlier one. It is a logistic regression over generic pair features
(distance, capabilities, references, joins, the rules' own decision), trained here on the dev
split only (``requests.yaml`` and ``dev/batch*.yaml``; never the test splits):

* every dev request is planned with the rules alone; each pair of its planned tasks is labelled
  by the benchmark's own matching (``score.matching``): 1 when both ends match expected tasks
  and the expected plan has that edge, else 0 (a planned edge with an unmatched end is a false
  positive to the scorer, so 0 is the right label for it);
* ``python -m bench.planning.edges`` (now ``python -m bench.planning.train.edges``, which it
  calls) fits on every dev file and writes ``edges.json`` next to the planner (deterministic:
  Newton steps from zero, no sampling);
* ``--cv`` runs leave one batch out: each dev file in turn is held out, the model is fitted on
  the others, and the held-out file is planned with it and scored by ``score.score_outcome``
  beside the rules alone. It prints per-batch node F1 / edge F1 / exact and their means.

The rules were tuned by reading every dev batch's failures, so their per-batch figures (and
the "rule" feature the model reads) are optimistic; the CV figures are an estimate of the
model's generalization *given* those rules, not a first-sight score.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.planning.__main__ import HERE, _read, load_manifest
from bench.planning.score import Expected, matching, score_outcome, summarize
from bench.planning.train.lexical import lexical_features
from mesh_contracts import CapabilitiesManifest
from mesh_orchestrator.planning.deterministic import PlanningFailed
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent.edges import RULE_FEATURES, EdgeModel, pair_features
from mesh_orchestrator.planning.llm import PlanRejected, check_plan

ENDS = "_ends"  # a pair's key: both its tasks match expected ones (never a feature)
L2 = 1.0  # ridge on every weight but the bias
SHIPPED = "learned/single"  # round 6's variant (round 8 ships ``train.edges.SHIPPED``)
THRESHOLDS = [round(0.25 + 0.05 * k, 2) for k in range(11)]  # 0.25 .. 0.75


def dev_batches() -> dict[str, list[Expected]]:
    """Each dev file is a batch: ``requests.yaml`` and ``dev/batch*.yaml`` (never the test
    splits)."""
    files = [HERE / "requests.yaml", *sorted((HERE / "dev").glob("batch*.yaml"), key=_order)]
    return {p.stem if p.parent.name == "dev" else "requests": _read(p, "dev") for p in files}


def _order(p: Path) -> int:
    digits = "".join(c for c in p.stem if c.isdigit())
    return int(digits) if digits else 0


Pair = tuple[dict[str, float], int]
# A request's pairs: (i, j, features, label).
Request = list[tuple[int, int, dict[str, float], int]]


def pairs_of(planner: IntentPlanner, manifest: CapabilitiesManifest, req: Expected) -> Request:
    """The labelled pairs of ``req`` as the rules alone plan it."""
    try:
        draft, origins = planner.build_sync(req.request, manifest, None)
    except PlanningFailed:
        return []
    got = [t.capability for t in draft.plan.tasks]
    match = matching(req, got)
    index = {t.task_id: k for k, t in enumerate(draft.plan.tasks)}
    out = []
    pairs = pair_features(origins, req.request)
    lexical_features(origins, req.request, pairs)  # round 15's ``_w:`` keys (bench only)
    for i, j, f in pairs:
        pi, pj = index[origins[i].task_id], index[origins[j].task_id]
        label = int(pi in match and pj in match and (match[pj], match[pi]) in req.edges)
        # whether both ends match expected tasks: no feature (``fit`` reads no "_" key), a
        # training variant may fit its weights on those pairs alone (``train.edges``)
        f[ENDS] = float(pi in match and pj in match)
        out.append((i, j, f, label))
    return out


def newton_logistic(x: Any, y: Any, ridge: Any, w: Any, *, tol: float, steps: int = 50) -> Any:
    """Ridge-penalised logistic regression fitted by Newton's method from ``w`` (the bench's
    edge fitters share it)."""
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        grad = x.T @ (p - y) + ridge * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(ridge)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < tol:
            break
    return w


def fit(
    requests: list[Request],
    rule: bool = True,
    single: bool = False,
    rule_l2: float = L2,
    l2: float = L2,
    thresholds: list[float] | None = None,
) -> EdgeModel:
    """L2 logistic regression by Newton's method, then the threshold (of ``THRESHOLDS``) with
    the best pair F1 on the training requests; ``rule`` False: without the features read from
    the rules' decision; ``single``: each task reads its best candidate only."""
    pairs = [
        (
            {
                k: v
                for k, v in f.items()
                if (rule or k not in RULE_FEATURES) and not k.startswith("_")
            },
            lab,
        )
        for req in requests
        for _, _, f, lab in req
    ]
    names = sorted({k for f, _ in pairs for k in f})
    x = np.array([[f.get(k, 0.0) for k in names] for f, _ in pairs], dtype=float)
    y = np.array([lab for _, lab in pairs], dtype=float)
    w = np.zeros(len(names))
    ridge = np.full(len(names), l2)
    ridge[names.index("bias")] = 1e-6
    for k, name in enumerate(names):
        if name in RULE_FEATURES:
            ridge[k] = rule_l2
    w = newton_logistic(x, y, ridge, w, tol=1e-8)
    weights = {k: float(v) for k, v in zip(names, w, strict=True) if abs(v) > 1e-6}
    best, threshold = -1.0, 0.5
    for t in THRESHOLDS if thresholds is None else thresholds:
        model = EdgeModel(weights, t, single)
        tp = fp = fn = 0
        for req in requests:
            got = _decode(model, req)
            truth = {(i, j) for i, j, _, lab in req if lab}
            tp += len(got & truth)
            fp += len(got - truth)
            fn += len(truth - got)
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        if f1 > best + 1e-9:
            best, threshold = f1, t
    return EdgeModel(weights, threshold, single)


def _decode(model: EdgeModel, req: Request) -> set[tuple[int, int]]:
    """The pairs ``model`` keeps, as ``EdgeModel.decide`` keeps them."""
    by_j: dict[int, list[tuple[float, int, bool]]] = {}
    for i, j, f, _ in req:
        by_j.setdefault(j, []).append((model.probability(f), i, bool(f.get("all"))))
    out = set()
    for j, cands in by_j.items():
        keep = [i for p, i, _ in cands if p >= model.threshold]
        if model.single and len(keep) > 1 and not cands[0][2]:
            keep = [max(cands, key=lambda c: (c[0], c[1]))[1]]
        out |= {(i, j) for i in keep}
    return out


def score(
    planner: IntentPlanner,
    manifest: CapabilitiesManifest,
    requests: list[Expected],
    edges: EdgeModel | None,
) -> dict[str, Any]:
    """Plan ``requests`` with the rules (``edges`` None) or the model, score with the
    benchmark's scorer."""
    outs = []
    for req in requests:
        plan, refusal, problem = None, None, None
        started = time.perf_counter()
        try:
            plan = planner.build_sync(req.request, manifest, edges)[0].plan
        except PlanningFailed as exc:
            refusal = str(exc)
        ms = (time.perf_counter() - started) * 1000
        if plan is not None:
            try:
                check_plan(plan.model_dump(mode="json"), manifest)
            except PlanRejected as exc:
                problem = exc.reason
        outs.append(score_outcome(req, plan, refusal, problem, ms))
    return summarize(outs)


def _cell(s: dict[str, Any]) -> str:
    return f"{s['node_f1']:.3f} / {s['edge_f1']:.3f} / {s['exact_rate']:.1%}"


# The variants ``--cv`` compares with the rules: (name, rule features, single parent).
# (rule features, single parent, L2 on the rule features, L2 on the others); every variant
# tried is kept so that the README's table can be rebuilt (``--variant all``).
VARIANTS: dict[str, tuple[Any, ...]] = {
    "learned": (True, False),
    "learned/single": (True, True),
    "learned-l2-3/single": (True, True, 3.0, 3.0),
    "learned-l2-0.3/single": (True, True, 0.3, 0.3),
    "rule-l2-10": (True, False, 10.0),
    "rule-l2-30": (True, False, 30.0),
    "rule-l2-100": (True, False, 100.0),
    "rule-l2-30/single": (True, True, 30.0),
    "no-rule": (False, False),
    "no-rule/single": (False, True),
    "no-rule-l2-0.3": (False, False, 1.0, 0.3),
    "no-rule-l2-3": (False, False, 1.0, 3.0),
}


def cross_validate(
    planner: IntentPlanner, manifest: CapabilitiesManifest, variants: list[str]
) -> dict[str, Any]:
    batches = dev_batches()
    pairs = {
        name: [pairs_of(planner, manifest, req) for req in reqs] for name, reqs in batches.items()
    }
    sides = ["rules", *variants]
    rows: dict[str, Any] = {}
    print("node F1 / edge F1 / exact per held-out dev file (learned: fitted on the others)")
    print(f"{'held out':10}{'n':>4}" + "".join(f"{s:>26}" for s in sides))
    for name, reqs in batches.items():
        train = [r for other, rs in pairs.items() if other != name for r in rs]
        row: dict[str, Any] = {"n": len(reqs), "rules": score(planner, manifest, reqs, None)}
        for v in variants:
            rule, single, *l2 = VARIANTS[v]
            row[v] = score(planner, manifest, reqs, fit(train, rule, single, *l2))
        rows[name] = row
        print(f"{name:10}{len(reqs):>4}" + "".join(f"{_cell(row[s]):>26}" for s in sides))
    mean = {
        side: {
            k: float(np.mean([r[side][k] for r in rows.values()]))
            for k in ("node_f1", "edge_f1", "exact_rate")
        }
        for side in sides
    }
    pooled = {side: _pooled([r[side] for r in rows.values()]) for side in sides}
    n = sum(r["n"] for r in rows.values())
    print(f"{'mean':10}{'':>4}" + "".join(f"{_cell(mean[s]):>26}" for s in sides))
    print(f"{'pooled':10}{n:>4}" + "".join(f"{_cell(pooled[s]):>26}" for s in sides))
    return {"folds": rows, "mean": mean, "pooled": pooled}


def _pooled(summaries: list[dict[str, Any]]) -> dict[str, float]:
    def f1(kind: str) -> float:
        tp = sum(s[f"{kind}_tp"] for s in summaries)
        fp = sum(s[f"{kind}_fp"] for s in summaries)
        fn = sum(s[f"{kind}_fn"] for s in summaries)
        return 2 * tp / max(1, 2 * tp + fp + fn)

    exact = sum(s["exact_rate"] * s["requests"] for s in summaries)
    return {
        "node_f1": f1("node"),
        "edge_f1": f1("edge"),
        "exact_rate": exact / max(1, sum(s["requests"] for s in summaries)),
    }


def main() -> int:
    """Round 6's command: ``--cv`` compares its ``VARIANTS`` with the benchmark's scorer; else
    the training command of round 8 (``python -m bench.planning.train.edges``) writes
    ``edges.json``, so that both commands write the same bytes."""
    ap = argparse.ArgumentParser(prog="python -m bench.planning.edges")
    ap.add_argument("--cv", action="store_true", help="leave one dev batch out, print the folds")
    ap.add_argument("--cv-json", default=None, help="with --cv: write the folds here")
    ap.add_argument(
        "--variant",
        action="append",
        choices=[*sorted(VARIANTS), "all"],
        help="with --cv: compare these (default: round 6's shipped one)",
    )
    args, rest = ap.parse_known_args()
    if not args.cv:
        from bench.planning.train.edges import main as train_main

        return train_main(rest)
    manifest = load_manifest()
    planner = IntentPlanner(edges=None)
    planner.warm()
    variants = args.variant or [SHIPPED]
    if "all" in variants:
        variants = list(VARIANTS)
    result = cross_validate(planner, manifest, variants)
    if args.cv_json:
        Path(args.cv_json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
