"""Round 15's lexical pair features and the edge model that reads them: measured by
``python -m bench.planning.train.edgemodel``, never shipped (bench/planning/README.md, "Round 15:
a learned edge labeller" and "Round 16: ... (branch plan-pair16)").

``lexical_features`` adds keys ``_w:...`` to each pair's features (the "_" keeps them out of the
hand-made models' training): the first words of the consumer's clause, the words joining it to
the request before it, the producer's first word, the capability pair by distance, and
("crosses", ``CROSS``) every hand-made fact of the pair by distance and by the consumer's
capability. ``bench.planning.edges.pairs_of`` adds them to every dev pair, so the tools can fit
a model on them. ``LexicalEdgeModel`` is the shipped ``EdgeModel`` with those weights and
``over``: past the gate, an edge the model is at least this sure of. The planner's ``edges.py``
computes none of this, and its ``EdgeModel.from_json`` refuses such a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.edges import (
    _WORD,
    Candidate,
    EdgeModel,
    Origin,
    _cap,
    _spans,
)
from mesh_orchestrator.planning.intent.model import normalize, tokens

LEXICAL = "_w:"
CROSS = "_w:x:"
_NO_CROSS = ("pair_", "from_", "to_", "join_", "bias", "gap", "groups", "content")


def _gap_bucket(gap: int) -> str:
    return "1" if gap == 1 else "2" if gap == 2 else "3+"


def lexical_features(
    origins: list[Origin], query: str, pairs: list[tuple[int, int, dict[str, float]]]
) -> None:
    """Add the lexical features (``LEXICAL``) to each pair's features, in place."""
    if not pairs:
        return
    norm = normalize(query) if query else ""
    spans = _spans(query, origins) if query else [(-1, -1)] * len(origins)
    heads: list[list[str]] = []
    joins: list[list[str]] = []
    for k, o in enumerate(origins):
        text = lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", normalize(o.instruction))
        words = [w for w in tokens(text) if w not in lx.POLITE]
        heads.append(words)
        a = spans[k][0]
        if a > 0:
            before = norm[max(0, a - 40) : a]
            mark = before.rstrip()[-1:] if before.strip() else ""
            cut = max(before.rfind(c) for c in ".!?;:\n") + 1
            joins.append(
                [*_WORD.findall(before[cut:])[-2:], f"p{mark if not mark.isalnum() else 'w'}"]
            )
        else:
            joins.append(["start" if a == 0 else "unk"])
    n = len(origins)
    for i, j, f in pairs:
        wj, wi = heads[j], heads[i]
        gap = _gap_bucket(j - i)
        ci, cj = _cap(origins[i].capability), _cap(origins[j].capability)
        for k, w in enumerate(wj[:3]):
            f[f"{LEXICAL}j{k}:{w}"] = 1.0
            f[f"{LEXICAL}j{k}:{w}:g{gap}"] = 1.0
        for w in wj[3:6]:
            f[f"{LEXICAL}jm:{w}"] = 1.0
        if wj:
            f[f"{LEXICAL}jl:{wj[-1]}"] = 1.0
            f[f"{LEXICAL}j0:{wj[0]}:{cj}"] = 1.0
        for w in joins[j]:
            f[f"{LEXICAL}jb:{w}"] = 1.0
            f[f"{LEXICAL}jb:{w}:g{gap}"] = 1.0
        if wi:
            f[f"{LEXICAL}i0:{wi[0]}"] = 1.0
        f[f"{LEXICAL}pair:{ci}>{cj}:g{gap}"] = 1.0
        f[f"{LEXICAL}n{min(n, 6)}:g{gap}"] = 1.0
        if origins[j].own_data or origins[j].quoted:
            f[f"{LEXICAL}own:g{gap}"] = 1.0
        # the hand-made facts of the pair by distance and by the consumer's capability
        facts = [k for k, v in f.items() if v and k[0] != "_" and not k.startswith(_NO_CROSS)]
        for name in facts:
            f[f"{CROSS}{name}:g{gap}"] = 1.0
            f[f"{CROSS}{name}:{cj}"] = 1.0


@dataclass
class LexicalEdgeModel(EdgeModel):
    """The shipped decision over weights that also read ``lexical_features``; ``over``: past
    ``keep``'s gate, an edge the model gives at least this (None: the gate as shipped)."""

    over: float | None = None

    def candidates(
        self, pairs: list[tuple[int, int, dict[str, float]]]
    ) -> dict[int, list[Candidate]]:
        scored = super().candidates(pairs)
        if self.over is None:
            return scored
        # the gate lets a candidate through when its clause asks for material (the fifth
        # field): an edge the model is ``over`` sure of counts as asked for
        over = self.over
        return {
            j: [(p, i, e, r, asks or p >= over, s) for p, i, e, r, asks, s in cs]
            for j, cs in scored.items()
        }

    def decide(self, origins: list[Origin], query: str = "") -> dict[str, list[str]]:
        raise NotImplementedError("measured on planned pairs only (train.edgemodel)")

    def to_json(self) -> dict[str, Any]:
        body = super().to_json() | {"lexical": True}
        if self.over is not None:
            body["over"] = round(self.over, 4)
        return body


__all__ = ["CROSS", "LEXICAL", "LexicalEdgeModel", "lexical_features"]
