"""Which earlier task a step reads: a small logistic model over generic pair features.

``links.Links`` decides each step's inputs by rules over connectives and references. Those
rules were written from the dev split's failures and fitted it (edge F1 ~0.9 there, 0.3-0.6 on
a new writer's requests at first sight). This module backs them with a learned decision: for
every ordered pair of planned tasks (``i`` earlier, ``j`` later, from different segments) it
scores whether ``j`` reads ``i`` from features that name no wording of any request: how far
apart they are, the capabilities of both, whether ``j``'s clause refers back (a pronoun, a
clitic, "the result", "both" in the seven languages, from ``lexicon``), how it is joined to
the one before, whether it has a subject or data of its own, whether the request is a list of
parallel jobs, and what the rules decided. The weights (``edges.json``, a few KB) are written
by ``python -m bench.planning.edges`` from the dev split; its ``--cv`` flag estimates them
leave one batch out.

Under leave-one-batch-out cross-validation on the dev split the model did not beat the rules
clearly (bench/planning/README.md, "A learned edge model"), so the rules' decision stands:
no setting turns the model on in a run; ``IntentPlanner(edges="learned")`` and ``python -m
bench.planning --edges`` (planner ``intent+edges``) plan with it, to measure it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.links import _content
from mesh_orchestrator.planning.intent.model import normalize, tokens

EDGE_WEIGHTS = Path(__file__).with_name("edges.json")

# The capabilities the pair features name one by one; anything else is "other".
CAPS = (
    "search",
    "data_analysis",
    "text_generation",
    "summarization",
    "translation",
    "image_generation",
)
JOINS = ("start", "then", "and", "but", "sentence", "item", "line", "part", "para")
PRODUCERS = frozenset(["search", "data_analysis"])
# What yields no text another step could read as its material.
NO_TEXT = frozenset(["image_generation", "lora_training"])
# Features read from the rules' decision; ``--no-rule`` training leaves them out.
RULE_FEATURES = frozenset(["rule", "rule_other", "i_reads", "i_read"])
TRANSFORMS = frozenset(["summarization", "translation"])


@dataclass
class Origin:
    """What the planner knew of one task when it made it: its segment's facts, its group (the
    segment that made it) and the inputs the rules gave it."""

    task_id: str
    capability: str
    group: int
    instruction: str
    joined: str
    listed: bool = False
    lead_ref: bool = False
    own_data: bool = False
    quoted: bool = False
    rule_deps: list[str] = field(default_factory=list)


class _Facts(NamedTuple):
    """What one task's clause says, for the pairs it ends."""

    pronoun: bool
    everything: bool
    named: bool
    content: int
    question: bool
    subject: set[str]


def _cap(name: str) -> str:
    return name if name in CAPS else "other"


def _refers(text: str) -> tuple[bool, bool, bool]:
    """(a reference back, "both"/"all"/"the three", a phrase naming a result) in ``text``."""
    norm = lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", normalize(text))
    words = [w for w in tokens(norm) if w not in lx.POLITE]
    everything = bool(lx.ALL.search(norm) or lx.COUNTED.search(norm))
    pronoun = bool(lx.PRONOUN.search(norm)) or any(lx.CLITIC.match(w) for w in words[:3])
    named = any(
        w in lx.DETERMINER
        and any(
            n in lx.RESULT_NOUNS or n.rstrip("s") in lx.RESULT_NOUNS for n in words[k + 1 : k + 3]
        )
        for k, w in enumerate(words[:-1])
    )
    return pronoun, everything, named


def _subject_words(text: str) -> set[str]:
    return {
        w
        for w in tokens(normalize(text))
        if len(w) >= 4
        and w not in lx.FUNCTION
        and w not in lx.POLITE
        and w not in lx.QUESTION
        and w not in lx.DETERMINER
        and w not in lx.LANGUAGES
        and w not in lx.LANGUAGE_WORDS
    }


def pair_features(origins: list[Origin]) -> list[tuple[int, int, dict[str, float]]]:
    """``(i, j, features)`` for every pair of tasks from different segments, ``i`` first."""
    out: list[tuple[int, int, dict[str, float]]] = []
    if len(origins) < 2:
        return out
    groups = sorted({o.group for o in origins})
    rank = {g: k for k, g in enumerate(groups)}
    size = {g: sum(o.group == g for o in origins) for g in groups}
    caps = {o.capability for o in origins}
    n_groups = len(groups)
    facts = []
    for o in origins:
        words = [w for w in tokens(normalize(o.instruction)) if w not in lx.POLITE]
        pronoun, everything, named = _refers(o.instruction)
        facts.append(
            _Facts(
                pronoun,
                everything,
                named,
                _content(words, True),
                o.instruction.rstrip().endswith("?") or bool(words and words[0] in lx.QUESTION),
                _subject_words(o.instruction),
            )
        )
    for j, oj in enumerate(origins):
        fj = facts[j]
        for i in range(j):
            oi = origins[i]
            if oi.group == oj.group:
                continue
            gap = rank[oj.group] - rank[oi.group]
            # the latest earlier task (of another segment) that yields text: what "it" most
            # often reads; the latest earlier one sharing a word of j's subject
            later = [o for o in origins[i + 1 : j] if o.group != oj.group]
            nearest_text = oi.capability not in NO_TEXT and not any(
                o.capability not in NO_TEXT and o.group != oi.group for o in later
            )
            shared = bool(fj.subject & facts[i].subject)
            last_shared = shared and not any(
                fj.subject & facts[k].subject
                for k in range(i + 1, j)
                if origins[k].group not in (oi.group, oj.group)
            )
            # i read by a task made after it and before j (by the rules)
            read_between = any(oi.task_id in origins[k].rule_deps for k in range(i + 1, j))
            f: dict[str, float] = {
                "bias": 1.0,
                "rule": float(oi.task_id in oj.rule_deps),
                "rule_other": float(bool(oj.rule_deps) and oi.task_id not in oj.rule_deps),
                "prev": float(gap == 1),
                "gap2": float(gap == 2),
                "gap3": float(gap >= 3),
                "first": float(rank[oi.group] == 0),
                "sink": float(rank[oj.group] == n_groups - 1),
                "pronoun": float(fj.pronoun),
                "pronoun_prev": float(fj.pronoun and gap == 1),
                "all": float(fj.everything),
                "named": float(fj.named),
                "content0": float(fj.content == 0),
                "content1": float(fj.content == 1),
                "content3": float(fj.content >= 3),
                "own_data": float(oj.own_data),
                "quoted": float(oj.quoted),
                "question": float(fj.question),
                "listed": float(oj.listed),
                "lead_ref": float(oj.lead_ref),
                "i_reads": float(bool(oi.rule_deps)),
                "i_read": float(read_between),
                "i_fanout": float(size[oi.group] > 1),
                "j_fanout": float(size[oj.group] > 1),
                "one_cap": float(len(caps) == 1),
                "groups2": float(n_groups == 2),
                "groups4": float(n_groups >= 4),
                "overlap": float(shared),
                "last_overlap": float(last_shared),
                "nearest_text": float(nearest_text),
                "nearest_text_ref": float(nearest_text and (fj.pronoun or fj.named)),
                "i_no_text": float(oi.capability in NO_TEXT),
                "producer_consumer": float(
                    oi.capability in PRODUCERS and oj.capability not in PRODUCERS
                ),
                "into_transform": float(oj.capability in TRANSFORMS),
                "same_cap": float(oi.capability == oj.capability),
            }
            joined = oj.joined if oj.joined in JOINS else "other"
            f[f"join_{joined}"] = 1.0
            f[f"join_{joined}_prev"] = float(gap == 1)
            f[f"from_{_cap(oi.capability)}"] = 1.0
            f[f"to_{_cap(oj.capability)}"] = 1.0
            f[f"pair_{_cap(oi.capability)}_{_cap(oj.capability)}"] = 1.0
            out.append((i, j, f))
    return out


@dataclass
class EdgeModel:
    """Logistic weights over named features and the threshold that decides an edge."""

    weights: dict[str, float]
    threshold: float = 0.5
    # each task reads its best-scoring candidate only, unless its clause says "both"/"all"
    single: bool = False

    def probability(self, features: dict[str, float]) -> float:
        z = sum(self.weights.get(k, 0.0) * v for k, v in features.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def decide(self, origins: list[Origin]) -> dict[str, list[str]]:
        """Each task's inputs: the earlier tasks whose pair scores at the threshold or above."""
        scored: dict[int, list[tuple[float, int, bool]]] = {}
        for i, j, f in pair_features(origins):
            scored.setdefault(j, []).append((self.probability(f), i, bool(f["all"])))
        deps: dict[str, list[str]] = {o.task_id: [] for o in origins}
        for j, cands in scored.items():
            keep = [i for p, i, _ in cands if p >= self.threshold]
            if self.single and len(keep) > 1 and not cands[0][2]:
                keep = [max(cands, key=lambda c: (c[0], c[1]))[1]]
            deps[origins[j].task_id] = [origins[i].task_id for i in sorted(keep)]
        return deps

    def to_json(self) -> dict[str, Any]:
        return {
            "single": self.single,
            "threshold": round(self.threshold, 4),
            "weights": {k: round(v, 5) for k, v in sorted(self.weights.items())},
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> EdgeModel:
        return cls(
            {k: float(v) for k, v in body["weights"].items()},
            float(body["threshold"]),
            bool(body.get("single", False)),
        )


@lru_cache(maxsize=4)
def _load(path: str) -> EdgeModel | None:
    p = Path(path)
    if not p.is_file():
        return None
    return EdgeModel.from_json(json.loads(p.read_text()))


def learned(path: str | Path | None = None) -> EdgeModel | None:
    """The edge model in ``path`` (``edges.json`` by default), None when there is none."""
    return _load(str(path or EDGE_WEIGHTS))


__all__ = ["EDGE_WEIGHTS", "EdgeModel", "Origin", "learned", "pair_features"]
