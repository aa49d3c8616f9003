"""Round 16 (branch plan-pair16): edge deciders that read the clause pair in context, measured
held out by ``python -m bench.planning.train.edgemodel --cv`` (never shipped unless they win
there; bench/planning/README.md, "Round 16: ... (branch plan-pair16)").

* pair crosses (``add_crosses``, keys ``_p:...``; ``--lex ...,pairx``): the later clause's
  reference facts (a pronoun, a named result, a demonstrative, "both", a loose reference, a
  leading one, "then", no content of its own) and its first words, each crossed with the
  earlier task's capability (and the facts by distance too), fitted with the hand-made weights
  in the shipped softmax (``edgemodel.fit_lex``);
* a second-stage re-scorer (``--band SPEC``): the shipped softmax decides every candidate; one
  whose share falls in a band around the threshold (0.35-0.6 by default) and whose clause the
  gate lets through is re-scored by a small logistic model over the candidate in its context
  (its share, the best other candidate's, the share left to "none", its rank, the distance,
  whether the rules gave it, how many candidates there are; ``calib``: the share by distance
  only, a per-distance calibration). The re-scorer learns from shares the first stage gave
  requests it was not fitted on (inner folds over the training files), so it sees the errors
  the first stage makes on unseen wording, not its fit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bench.planning.edges import Request, newton_logistic
from mesh_orchestrator.planning.intent.edges import Candidate, EdgeModel

PAIRX = "_p:"
REF_FACTS = (
    "pronoun",
    "named",
    "demonstrative",
    "all",
    "loose_ref",
    "ref_lead",
    "then_word",
    "lead_ref",
    "content0",
    "question",
    "own_data",
    "listed",
)
_HEAD_WORDS = ("_w:j0:", "_w:j1:", "_w:j2:")


def _cap_of(f: dict[str, float], side: str) -> str:
    for k in f:
        if k.startswith(side) and f[k]:
            return k[len(side) :]
    return "?"


def _gap(f: dict[str, float]) -> str:
    return "1" if f.get("prev") else "2" if f.get("gap2") else "3"


def add_crosses(reqs: list[Request]) -> None:
    """Add the pair crosses (``PAIRX`` keys) to every pair's features, in place (idempotent)."""
    for r in reqs:
        for _i, _j, f, _lab in r:
            if f.get(PAIRX + "done"):
                continue
            ci, g = _cap_of(f, "from_"), _gap(f)
            new: dict[str, float] = {}
            for name in REF_FACTS:
                if f.get(name):
                    new[f"{PAIRX}{name}>{ci}"] = 1.0
                    new[f"{PAIRX}{name}>{ci}:g{g}"] = 1.0
            for k in f:
                if k.startswith(_HEAD_WORDS) and k.count(":") == 2:
                    new[f"{PAIRX}w:{k.split(':')[2]}>{ci}"] = 1.0
            f.update(new)
            f[PAIRX + "done"] = 0.0


# ---------------------------------------------------------------------------------------------
# the second stage


@dataclass(frozen=True)
class Band:
    """A re-scorer: the band of first-stage shares it re-decides, its features, its ridge."""

    lo: float = 0.35
    hi: float = 0.6
    feats: str = "full"  # full | calib (the share by distance only)
    l2: float = 1.0
    inner: int = 5  # inner folds over the training files

    def label(self) -> str:
        return f"band{self.lo:g}-{self.hi:g}-{self.feats}-l2{self.l2:g}-k{self.inner}"


def _logit(p: float) -> float:
    p = min(1 - 1e-4, max(1e-4, p))
    return math.log(p / (1 - p))


def context(cands: list[Candidate], c: Candidate, f: dict[str, float], feats: str) -> list[float]:
    """The re-scorer's inputs for candidate ``c`` among its task's ``cands``."""
    g = _gap(f)
    lg = _logit(c[0])
    gaps = [float(g == "1"), float(g == "2"), float(g == "3")]
    if feats == "calib":
        return [1.0, lg, *gaps, *(lg * x for x in gaps)]
    others = [d[0] for d in cands if d is not c]
    best_other = max(others, default=0.0)
    none = max(0.0, 1.0 - sum(d[0] for d in cands))
    rank = sum(d[0] > c[0] for d in cands)
    return [
        1.0,
        lg,
        *gaps,
        best_other,
        none,
        float(rank == 0),
        float(c[3]),
        float(c[2]),
        float(c[5]),
        min(len(cands), 5) / 5,
        float(bool(f.get("nearest_text"))),
        float(bool(f.get("pronoun") or f.get("named") or f.get("demonstrative"))),
    ]


def _in_band(c: Candidate, band: Band) -> bool:
    return band.lo <= c[0] < band.hi and (c[3] or c[4])


@dataclass
class BandModel(EdgeModel):
    """The shipped decision with the candidates in ``band`` re-scored by ``w``."""

    band: Band = field(default_factory=Band)
    w: list[float] = field(default_factory=list)

    def candidates(
        self, pairs: list[tuple[int, int, dict[str, float]]]
    ) -> dict[int, list[Candidate]]:
        scored = super().candidates(pairs)
        if not self.w:
            return scored
        by = {(i, j): f for i, j, f in pairs}
        w = np.array(self.w)
        out: dict[int, list[Candidate]] = {}
        for j, cs in scored.items():
            row = []
            for c in cs:
                if _in_band(c, self.band):
                    x = np.array(context(cs, c, by[(c[1], j)], self.band.feats))
                    p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, float(x @ w)))))
                    c = (p, *c[1:])
                row.append(c)
            out[j] = row
        return out


def _rows(
    model: EdgeModel, reqs: list[Request], band: Band
) -> tuple[list[list[float]], list[float]]:
    xs: list[list[float]] = []
    ys: list[float] = []
    for r in reqs:
        pairs = [(i, j, f) for i, j, f, _ in r]
        labels = {(i, j): lab for i, j, _, lab in r}
        by = {(i, j): f for i, j, f in pairs}
        for j, cs in model.candidates(pairs).items():
            for c in cs:
                if _in_band(c, band):
                    xs.append(context(cs, c, by[(c[1], j)], band.feats))
                    ys.append(float(labels[(c[1], j)]))
    return xs, ys


def _logistic(xs: list[list[float]], ys: list[float], l2: float) -> list[float]:
    """Ridge logistic regression by Newton steps from zero (the same weights every run)."""
    if not xs or len(set(ys)) < 2:
        return []
    x, y = np.array(xs), np.array(ys)
    ridge = np.full(x.shape[1], l2)
    ridge[0] = 1e-6
    w = newton_logistic(x, y, ridge, np.zeros(x.shape[1]), tol=1e-9)
    return [float(v) for v in w]


def fit_bands(
    files: list[list[Request]],
    stage1: Callable[[list[Request]], EdgeModel],
    bands: list[Band],
    base: EdgeModel | None = None,
) -> tuple[EdgeModel, list[BandModel]]:
    """The first stage fitted on every training file, and per band a re-scorer fitted on the
    shares the first stage gave each inner fold's requests when fitted without them (the inner
    first stages shared by the bands of the same ``inner``)."""
    if base is None:
        base = stage1([r for rs in files for r in rs])
    rows: dict[Band, tuple[list[list[float]], list[float]]] = {b: ([], []) for b in bands}
    for k in sorted({max(2, b.inner) for b in bands}):
        for fold in range(k):
            held = [r for n, rs in enumerate(files) if n % k == fold for r in rs]
            rest = [r for n, rs in enumerate(files) if n % k != fold for r in rs]
            inner = stage1(rest)
            for b in bands:
                if max(2, b.inner) == k:
                    x, y = _rows(inner, held, b)
                    rows[b][0].extend(x)
                    rows[b][1].extend(y)
    out = []
    for b in bands:
        model = BandModel(**{k2: getattr(base, k2) for k2 in EdgeModel.__dataclass_fields__})
        model.band = b
        model.w = _logistic(*rows[b], b.l2)
        out.append(model)
    return base, out


__all__ = ["PAIRX", "Band", "BandModel", "add_crosses", "context", "fit_bands"]
