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
by ``python -m bench.planning.train.edges`` from the dev split, the same bytes every run; its
``--cv`` flag chooses the variant leave one batch out.

Since round 8 the model decides every plan's inputs (``IntentPlanner()``; ``edges=None`` plans
with the rules alone, to measure them): over the blind dev batches held out one at a time it
beat the rules (bench/planning/README.md, "Round 8"). Each task reads its best-scoring source
(every one when its clause says "both"/"all"), and the model adds no edge the rules did not
make to a clause that does not ask for material (``keep``'s gate: no reference back, a subject
of its own, joined as a parallel job: "write a poem and draw a lighthouse"; since round 10 "the
same material" and a sibling of a step that read its source by a leading reference ask for it).
Edges only point to earlier tasks, so a plan stays acyclic.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.lexicon._words import words as _words
from mesh_orchestrator.planning.intent.links import SAME, _content
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
RULE_FEATURES = frozenset(
    [
        "rule",
        "rule_other",
        "i_reads",
        "i_read",
        "rule_refers",
        "sibling_source",
        "sibling_source_and",
    ]
)
TRANSFORMS = frozenset(["summarization", "translation"])
# The weight of "reads nothing" in a choice model (``EdgeModel.choice``).
NONE = "none"
# Round 9's features: the consumer's clause read whole (a reference anywhere, "then", an
# ordinal or a noun that names one producer, "the same"), the producer's (a question, a clause
# with nothing of its own) and the structure of the pair (a fan-out from one source, list
# markers); ``train.edges --cv`` chooses whether a variant reads them.
ROUND9 = frozenset(
    [
        "loose_ref",
        "loose_ref_prev",
        "then_word",
        "then_word_prev",
        "i_question",
        "i_question_next",
        "ordinal_this",
        "ordinal_other",
        "enum_j",
        "enum_both",
        "names_i",
        "names_last",
        "names_other",
        "same_source",
        "same_derived",
        "sib_and",
        "sib_lead",
        "prev_reads_and",
        "from_lora",
        "to_lora",
        "text_to_lora",
        "i_bare",
        "asks9",
    ]
)
# Words that refer back wherever they stand ("fine-tune an adapter on those", "laat hem daarna
# ..."): ``lexicon.PRONOUN`` asks for what follows them, these do not.
LOOSE = _words(
    """
it them those these him its ello eso esto ella ellos isso isto disso nisso dele dela deles
delas cela ceci ca questo quello quelli quelle cio hem ervan daarvan daarmee daarover ihn
davon daraus damit daruber whatever
"""
)
# A list marker opening a clause: "1/", "2)", "b)", "3.".
_MARKER = re.compile(r"^\s*(?:\d{1,2}|[a-e])\s*[).:/-]\s")
# Definite articles ``lexicon.DETERMINER`` leaves out: Dutch "de", Portuguese "a", "as".
_DEFINITE = frozenset(["de", "a", "as"])
_THEN = re.compile(rf"^(?:\W*\w+\W+){{0,2}}\W*(?:{lx.THEN})\b")


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
    lead: bool  # a reference in its first words, past "then"/"also": "then translate it"
    demonstrative: bool  # "that scene", "esa descripción", "quelle informazioni"
    strict: bool  # a pronoun, or a reference leading (a clitic on its verb only)
    loose: bool  # a reference anywhere: a pronoun, "those", "whatever", a demonstrative
    then: bool  # "then" among its first words, however it was joined
    ordinal: int  # the earlier task an ordinal picks ("the first one"), 1-based; 0 none
    enum: bool  # it opens with a list marker: "2)", "b.", "Seconda, ...", "terza e ultima"
    named_words: set[str]  # the nouns after its determiners ("the tweet" -> tweet)
    same: bool  # "the same text", "la misma info"


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


_AND = frozenset(["and", "y", "e", "et", "und", "en", "o", "ou", "oder", "of"])


def _leads(text: str) -> tuple[bool, bool, bool]:
    """(a reference among the first words past "then"/"also", a demonstrative anywhere, a
    pronoun anywhere or a reference leading)."""
    norm = lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", normalize(text))
    words = [w for w in tokens(norm) if w not in lx.POLITE]
    k = 0
    while k < len(words) - 1 and (
        words[k] in lx.BACK or words[k] in lx.FUNCTION or words[k] in _AND
    ):
        k += 1
    head = words[k : k + 4]
    # a clitic on the verb only ("tradúcelo"): further on, "poema" is no "poe" + "ma"
    lead = bool(lx.PRONOUN.search(" ".join(head))) or any(w in lx.DEMONSTRATIVE for w in head)
    lead = lead or bool(head and lx.CLITIC.match(head[0]))
    strict = bool(lx.PRONOUN.search(norm)) or lead
    return lead, any(w in lx.DEMONSTRATIVE for w in words), strict


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


def _ordinal(words: list[str]) -> tuple[int, bool]:
    """(the rank an ordinal picks, 0 none; whether an ordinal opens the clause as a list
    marker: "prima cosa ...", "second, a picture ...")."""
    for k, w in enumerate(words):
        rank = lx.ORDINAL.get(w)
        if rank is None:
            continue
        nxt = words[k + 1] if k + 1 < len(words) else ""
        picks = (
            not nxt or nxt in lx.ONE or nxt in lx.RESULT_NOUNS or nxt.rstrip("s") in lx.RESULT_NOUNS
        )
        before = words[k - 1] if k > 0 else ""
        if before in lx.DETERMINER or before in lx.ARTICLES or before in _DEFINITE:
            return rank, False  # "the first tagline", "la seconda risposta"
        if k == 0:
            return (rank, False) if picks and nxt else (0, True)
        if k < 4 and picks:
            return rank, False  # "translate first one", "riassumi solo il secondo"
    return 0, False


def _clause(text: str) -> tuple[bool, bool, int, bool, set[str], bool]:
    """Round 9's facts of one clause (``_Facts``' last six)."""
    norm = lx.ELISION.sub(lambda m: m.group(0)[:-1] + " ", normalize(text))
    words = [w for w in tokens(norm) if w not in lx.POLITE]
    loose = any(w in LOOSE or w in lx.DEMONSTRATIVE for w in words)
    then = bool(_THEN.search(norm))
    ordinal, marker = _ordinal(words)
    enum = marker or bool(_MARKER.match(text))
    named = {
        n.rstrip("s")
        for k, w in enumerate(words[:-1])
        if w in lx.DETERMINER or w in _DEFINITE
        for n in words[k + 1 : k + 3]
        if len(n) > 3
        and n not in lx.FUNCTION
        and n not in lx.DETERMINER
        and n not in lx.ORDINAL
        and n not in SAME
        and n not in lx.LANGUAGES
        and n not in lx.LANGUAGE_WORDS
    }
    return loose, then, ordinal, enum, named, any(w in SAME for w in words)


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
        lead, demonstrative, strict = _leads(o.instruction)
        facts.append(
            _Facts(
                pronoun,
                everything,
                named,
                _content(words, True),
                o.instruction.rstrip().endswith("?") or bool(words and words[0] in lx.QUESTION),
                _subject_words(o.instruction),
                lead,
                demonstrative,
                strict,
                *_clause(o.instruction),
            )
        )
    own = [{w.rstrip("s") for w in tokens(normalize(o.instruction))} for o in origins]
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
            # the segment right before j read i: "then draw it, and summarize it" fans out
            before = [o for o in origins[:j] if rank[o.group] == rank[oj.group] - 1]
            sibling = gap > 1 and any(oi.task_id in o.rule_deps for o in before)
            refers = fj.strict or fj.named or fj.demonstrative
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
                # generic facts added in round 8: the data i carries, where j's reference
                # stands, parallel list items, a fan-out from one source
                "i_data": float(oi.own_data),
                "i_quoted": float(oi.quoted),
                "i_data_next": float(oi.own_data and gap == 1 and not oj.own_data),
                "both_data": float(oi.own_data and oj.own_data),
                "ref_lead": float(fj.lead),
                "ref_lead_prev": float(fj.lead and gap == 1),
                "demonstrative": float(fj.demonstrative),
                "refers_prev": float(refers and gap == 1),
                "refers_none_prev": float(not refers and gap == 1),
                "both_items": float(oi.joined == "item" and oj.joined == "item"),
                "both_listed": float(oi.listed and oj.listed),
                "sibling_source": float(sibling),
                "sibling_source_and": float(sibling and oj.joined in ("and", "sentence")),
                "prev_bare": float(gap == 1 and fj.content <= 1),
                "into_image_prev": float(gap == 1 and oj.capability == "image_generation"),
                "rule_refers": float(oi.task_id in oj.rule_deps and refers),
                # j asks for material: it refers back, says "both", or names nothing of its own
                "asks": float(refers or fj.everything or fj.content == 0),
                # ... or follows in sequence ("then", a new sentence), not as a parallel job
                "asks_then": float(
                    refers or fj.everything or fj.content == 0 or oj.joined == "then"
                ),
                "asks_seq": float(
                    refers or fj.everything or fj.content == 0 or oj.joined in ("then", "sentence")
                ),
                "asks_lead": float(
                    fj.lead or fj.named or fj.demonstrative or fj.everything or fj.content == 0
                ),
            }
            # round 9: the consumer's clause whole, the producer's, the pair's structure
            loose = fj.loose or refers or fj.pronoun
            names = bool(fj.named_words & own[i])
            names_later = any(
                fj.named_words & own[k]
                for k in range(i + 1, j)
                if origins[k].group not in (oi.group, oj.group)
            )
            names_any = any(fj.named_words & own[k] for k in range(j) if k != i)
            prev_seg = [k for k in range(j) if rank[origins[k].group] == rank[oj.group] - 1]
            prev_read_i = any(oi.task_id in origins[k].rule_deps for k in prev_seg)
            parallel = oj.joined in ("and", "item", "part")
            f.update(
                {
                    "loose_ref": float(loose),
                    "loose_ref_prev": float(loose and gap == 1),
                    "then_word": float(fj.then),
                    "then_word_prev": float(fj.then and gap == 1),
                    "i_question": float(facts[i].question),
                    "i_question_next": float(facts[i].question and gap == 1 and not fj.question),
                    "ordinal_this": float(fj.ordinal == i + 1),
                    "ordinal_other": float(fj.ordinal > 0 and fj.ordinal != i + 1),
                    "enum_j": float(fj.enum),
                    "enum_both": float(fj.enum and facts[i].enum),
                    "names_i": float(names),
                    "names_last": float(names and not names_later),
                    "names_other": float(not names and names_any),
                    "same_source": float(fj.same and not oi.rule_deps),
                    "same_derived": float(fj.same and bool(oi.rule_deps)),
                    "sib_and": float(prev_read_i and parallel),
                    "sib_lead": float(
                        prev_read_i
                        and parallel
                        and any(origins[k].lead_ref or facts[k].lead for k in prev_seg)
                    ),
                    "prev_reads_and": float(gap == 1 and bool(oi.rule_deps) and parallel),
                    "from_lora": float(oi.capability == "lora_training"),
                    "to_lora": float(oj.capability == "lora_training"),
                    "text_to_lora": float(
                        oi.capability == "text_generation" and oj.capability == "lora_training"
                    ),
                    "i_bare": float(facts[i].content == 0),
                    # j asks for material, its clause read whole: ``asks_seq``, or a
                    # reference anywhere, "then", a noun or an ordinal naming an earlier task
                    "asks9": float(
                        bool(f["asks_seq"])
                        or loose
                        or fj.then
                        or names_any
                        or names
                        or fj.ordinal > 0
                    ),
                }
            )
            # round 10: gates that also let "the same material" and a sibling of a step that
            # read its source through a leading reference ask for material
            # (keys with "_": read by the gate, never a weight)
            f["_asks_same"] = float(bool(f["asks_seq"]) or fj.same)
            f["_asks_sib"] = float(bool(f["_asks_same"]) or bool(f["sib_lead"]))
            f["_asks_names"] = float(bool(f["_asks_sib"]) or names)
            # a clause saying "both" / "each of them" as the last of listed items
            f["all_items"] = float(fj.everything and (fj.enum or oj.joined == "item"))
            joined = oj.joined if oj.joined in JOINS else "other"
            f[f"join_{joined}"] = 1.0
            f[f"join_{joined}_prev"] = float(gap == 1)
            f[f"from_{_cap(oi.capability)}"] = 1.0
            f[f"to_{_cap(oj.capability)}"] = 1.0
            f[f"pair_{_cap(oi.capability)}_{_cap(oj.capability)}"] = 1.0
            out.append((i, j, f))
    return out


# (probability, i, j says "both"/"all", a rule edge, j asks for material)
Candidate = tuple[float, int, bool, bool, bool]


def keep(
    cands: list[Candidate],
    threshold: float,
    single: bool,
    add: float | None,
    gated: bool = False,
) -> list[int]:
    """Which of one task's candidate sources it reads. ``add`` None: every candidate at
    ``threshold`` or above (only the best one when ``single``, unless the clause says "both");
    else anchored on the rules: a rule edge stays at ``threshold`` or above, and the model adds
    its best other candidate at ``add`` or above (every one when the clause says "both").
    ``gated``: the model adds no edge the rules did not make to a clause that does not ask for
    material (no reference back, no "both", a subject of its own: "and draw a lighthouse")."""
    if gated:
        cands = [c for c in cands if c[3] or c[4]]
    if not cands:
        return []
    everything = cands[0][2]
    if add is None:
        kept = [c for c in cands if c[0] >= threshold]
        if single and len(kept) > 1 and not everything:
            kept = [max(kept, key=lambda c: (c[0], c[1]))]
        return sorted(c[1] for c in kept)
    ruled = [c[1] for c in cands if c[3] and c[0] >= threshold]
    extra = [c for c in cands if not c[3] and c[0] >= add]
    if extra and not everything:
        extra = [max(extra, key=lambda c: (c[0], c[1]))]
    return sorted(ruled + [c[1] for c in extra])


@dataclass
class EdgeModel:
    """Logistic weights over named features and the threshold that decides an edge."""

    weights: dict[str, float]
    threshold: float = 0.5
    # each task reads its best-scoring candidate only, unless its clause says "both"/"all"
    single: bool = False
    # anchored on the rules: the threshold under which a rule edge goes; ``add``, the one over
    # which the model adds an edge the rules did not make (None: the model decides alone)
    add: float | None = None
    # the feature that says whether a clause asks for material (``keep``'s gate); "" none
    gate: str = ""
    # round 9: a choice per task, not a yes/no per pair: its earlier tasks and "none" (the
    # weight ``NONE``) compete in one softmax, so a candidate is scored against the others the
    # clause could read, and the many far pairs no clause reads do not drag every score down
    choice: bool = False
    # round 10: with ``choice``, a clause that says "both"/"all" scores each candidate against
    # "none" alone, not against the other sources it also reads
    every: bool = False

    def probability(self, features: dict[str, float]) -> float:
        z = sum(self.weights.get(k, 0.0) * v for k, v in features.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def candidates(
        self, pairs: list[tuple[int, int, dict[str, float]]]
    ) -> dict[int, list[Candidate]]:
        scored: dict[int, list[Candidate]] = {}
        shares: dict[tuple[int, int], float] = {}
        if self.choice:
            shares = self._shares(pairs)
        for i, j, f in pairs:
            scored.setdefault(j, []).append(
                (
                    shares[(i, j)] if self.choice else self.probability(f),
                    i,
                    bool(f.get("all")),
                    bool(f.get("rule")),
                    bool(f.get(self.gate, 1.0)) if self.gate else True,
                )
            )
        return scored

    def _shares(
        self, pairs: list[tuple[int, int, dict[str, float]]]
    ) -> dict[tuple[int, int], float]:
        """Each pair's share of its task's softmax over its candidates and "none"."""
        z: dict[int, list[tuple[int, float]]] = {}
        every = {j for _, j, f in pairs if f.get("all")}
        for i, j, f in pairs:
            s = sum(self.weights.get(k, 0.0) * v for k, v in f.items())
            z.setdefault(j, []).append((i, max(-30.0, min(30.0, s))))
        out: dict[tuple[int, int], float] = {}
        none = self.weights.get(NONE, 0.0)
        for j, row in z.items():
            top = max([none, *(s for _, s in row)])
            total = math.exp(none - top) + sum(math.exp(s - top) for _, s in row)
            for i, s in row:
                out[(i, j)] = math.exp(s - top) / total
            if self.every and j in every:
                # "both", "each of them", "los tres": the sources it reads share the softmax
                # (two right ones get under half each), so each is scored against "none" alone
                for i, s in row:
                    out[(i, j)] = 1.0 / (1.0 + math.exp(none - s))
        return out

    def decide(self, origins: list[Origin]) -> dict[str, list[str]]:
        """Each task's inputs, from the scores of the pairs it ends (``keep``)."""
        deps: dict[str, list[str]] = {o.task_id: [] for o in origins}
        for j, cands in self.candidates(pair_features(origins)).items():
            chosen = keep(cands, self.threshold, self.single, self.add, bool(self.gate))
            deps[origins[j].task_id] = [origins[i].task_id for i in chosen]
        return deps

    def to_json(self) -> dict[str, Any]:
        return {
            "add": None if self.add is None else round(self.add, 4),
            "choice": self.choice,
            "every": self.every,
            "gate": self.gate,
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
            None if body.get("add") is None else float(body["add"]),
            str(body.get("gate", "")),
            bool(body.get("choice", False)),
            bool(body.get("every", False)),
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


__all__ = [
    "EDGE_WEIGHTS",
    "NONE",
    "ROUND9",
    "EdgeModel",
    "Origin",
    "keep",
    "learned",
    "pair_features",
]
