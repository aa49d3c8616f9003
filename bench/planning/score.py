"""Scoring one plan against the expected one: node and edge matches, validity, refusals.

Expected tasks are matched to planned tasks in request order by capability (the first
unmatched planned task with the same capability), so two translations pair up in order. An
expected task may allow alternatives (``translation|text_generation``: "explain it in French"
is right as either); any of them matches.
Edges count through that matching: a planned edge is right when both ends are matched and
the expected plan has the same edge. Totals are micro-averaged over all requests.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from mesh_contracts import ExecutionPlan

_TASK = re.compile(r"^\s*([a-z_]+(?:\s*\|\s*[a-z_]+)*)\s*(?:<-\s*([\d,\s]+))?\s*$")
KINDS = frozenset(
    [
        "single",
        "chain",
        "fan-out",
        "enumeration",
        "reference",
        "inline-csv",
        "inline-json",
        "inline-text",
        "negation",
        "unservable",
        "partly-servable",
        "smalltalk",
    ]
)
LANGS = frozenset(["en", "es", "fr", "de", "pt", "it", "nl"])


@dataclass
class Expected:
    id: str
    kind: str
    request: str
    caps: list[str]  # the first alternative of each task, for display
    edges: set[tuple[int, int]]  # (task, the task it reads), 0-based
    data: int | None  # 0-based task that must carry the inline table
    lang: str = "en"
    split: str = "dev"
    options: list[frozenset[str]] = field(default_factory=list)  # each task's right answers

    @classmethod
    def parse(cls, item: dict[str, Any], split: str = "dev") -> Expected:
        caps: list[str] = []
        options: list[frozenset[str]] = []
        edges: set[tuple[int, int]] = set()
        for i, spec in enumerate(item["expect"]):
            m = _TASK.match(str(spec))
            if m is None:
                raise ValueError(f"{item['id']}: cannot read task {spec!r}")
            alternatives = [a.strip() for a in m.group(1).split("|")]
            caps.append(alternatives[0])
            options.append(frozenset(alternatives))
            for dep in (m.group(2) or "").replace(",", " ").split():
                edges.add((i, int(dep) - 1))
        if item["kind"] not in KINDS:
            raise ValueError(f"{item['id']}: unknown kind {item['kind']!r}")
        lang = item.get("lang", "en")
        if lang not in LANGS:
            raise ValueError(f"{item['id']}: unknown lang {lang!r}")
        data = item.get("data")
        return cls(
            item["id"],
            item["kind"],
            item["request"],
            caps,
            edges,
            data and data - 1,
            lang=lang,
            split=split,
            options=options,
        )


@dataclass
class Outcome:
    id: str
    kind: str
    lang: str
    split: str
    expected: list[str]
    got: list[str]
    node_tp: int
    node_fp: int
    node_fn: int
    edge_tp: int
    edge_fp: int
    edge_fn: int
    valid: bool
    exact: bool
    refused: bool
    data_ok: bool | None
    ms: float
    note: str = ""
    plan: dict[str, Any] | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def matching(req: Expected, got: list[str]) -> dict[int, int]:
    """Planned index -> expected index: each expected task, in order, takes the first
    unmatched planned task of one of its capabilities."""
    match: dict[int, int] = {}
    used: set[int] = set()
    for e, allowed in enumerate(req.options or [frozenset([c]) for c in req.caps]):
        for p, cap in enumerate(got):
            if p not in used and cap in allowed:
                match[p] = e
                used.add(p)
                break
    return match


def score_outcome(
    req: Expected,
    plan: ExecutionPlan | None,
    refusal: str | None,
    problem: str | None,
    ms: float,
) -> Outcome:
    tasks = plan.tasks if plan is not None else []
    got = [t.capability for t in tasks]
    match = matching(req, got)
    ids = {t.task_id: p for p, t in enumerate(tasks)}
    planned_edges = {(p, ids[d]) for p, t in enumerate(tasks) for d in t.depends_on if d in ids}
    mapped = {(match[a], match[b]) for a, b in planned_edges if a in match and b in match}
    edge_tp = len(mapped & req.edges)
    node_tp = len(match)
    # With nothing to serve, a refusal is the right answer (and a plan must still be valid).
    valid = (plan is not None and problem is None) if req.caps else (plan is None or not problem)
    data_ok = None
    if req.data is not None:
        inv = {e: p for p, e in match.items()}
        carrier = inv.get(req.data)
        data_ok = carrier is not None and bool(tasks[carrier].input.get("data"))
    exact = (
        node_tp == len(req.caps) == len(tasks)
        and mapped == req.edges
        and len(planned_edges) == len(req.edges)
    )
    return Outcome(
        id=req.id,
        kind=req.kind,
        lang=req.lang,
        split=req.split,
        expected=["|".join(sorted(o)) for o in req.options] if req.options else req.caps,
        got=got,
        node_tp=node_tp,
        node_fp=len(tasks) - node_tp,
        node_fn=len(req.caps) - node_tp,
        edge_tp=edge_tp,
        edge_fp=len(planned_edges) - edge_tp,
        edge_fn=len(req.edges) - edge_tp,
        valid=valid,
        exact=exact,
        refused=plan is None,
        data_ok=data_ok,
        ms=round(ms, 2),
        note=problem or refusal or (plan.reasoning if plan is not None else ""),
        plan=plan.model_dump(mode="json") if plan is not None else None,
    )


def _f1(tp: int, fp: int, fn: int) -> float:
    if tp + fp + fn == 0:
        return 1.0
    return 2 * tp / (2 * tp + fp + fn)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def summarize(outcomes: list[Outcome]) -> dict[str, Any]:
    n = max(1, len(outcomes))
    tot = {k: sum(getattr(o, k) for o in outcomes) for k in ("node_tp", "node_fp", "node_fn")}
    etot = {k: sum(getattr(o, k) for o in outcomes) for k in ("edge_tp", "edge_fp", "edge_fn")}
    unservable = [o for o in outcomes if not o.expected]
    with_data = [o for o in outcomes if o.data_ok is not None]
    ms = [o.ms for o in outcomes] or [0.0]
    return {
        "requests": len(outcomes),
        "node_f1": round(_f1(tot["node_tp"], tot["node_fp"], tot["node_fn"]), 4),
        "edge_f1": round(_f1(etot["edge_tp"], etot["edge_fp"], etot["edge_fn"]), 4),
        "valid_rate": round(sum(o.valid for o in outcomes) / n, 4),
        "exact_rate": round(sum(o.exact for o in outcomes) / n, 4),
        "refusals": f"{sum(o.refused for o in unservable)}/{len(unservable)}",
        "data_placed": f"{sum(bool(o.data_ok) for o in with_data)}/{len(with_data)}",
        "p50_ms": round(_pct(ms, 0.5), 2),
        "p99_ms": round(_pct(ms, 0.99), 2),
        **tot,
        **etot,
    }
