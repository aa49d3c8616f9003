"""Planners turn a request into an ExecutionPlan using only what the manifest offers.

``Planner`` is the protocol every planner follows (the LLM planner too, which falls back
to this one). ``DeterministicPlanner`` needs no model: it splits the request into clauses,
scores each clause against every capability with a BM25-style keyword match over the
manifest's own words (capability names, agent descriptions, skill descriptions, tags,
examples, plus a few built-in synonyms), links clauses that refer to earlier output ("summarize
it"), and fills each task's input from the chosen agent's input schema.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from mesh_contracts import CapabilitiesManifest, ExecutionPlan, SubTask
from mesh_contracts.capabilities import VOCABULARY
from mesh_orchestrator.planning.clauses import Clause, split_clauses


class PlanningFailed(Exception):
    """No plan can be made (nothing registered, empty request, no part of it served).
    ``str()`` says why; ``unresolvable`` names the parts of the request no agent serves."""

    def __init__(self, reason: str, unresolvable: list[str] | None = None) -> None:
        super().__init__(reason)
        self.unresolvable = list(unresolvable or [])


@dataclass
class Draft:
    """A plan and, apart, what its planner noted: one note per task, and the parts of the
    request no agent serves (left out of the plan)."""

    plan: ExecutionPlan
    notes: list[str] = field(default_factory=list)
    unresolvable: list[str] = field(default_factory=list)


class Planner(Protocol):
    async def plan(self, query: str, manifest: CapabilitiesManifest) -> ExecutionPlan:
        """A validated plan whose capabilities all appear in ``manifest``."""
        ...


# Words people use for the well-known capabilities that agents may not spell out (the one
# vocabulary, mesh_contracts.capabilities.VOCABULARY).
SYNONYMS: dict[str, str] = {name: v.words for name, v in VOCABULARY.items()}
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "with",
        "about",
        "from",
        "by",
        "at",
        "is",
        "are",
        "be",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "me",
        "my",
        "i",
        "you",
        "your",
        "please",
        "can",
        "could",
        "would",
        "will",
        "some",
        "any",
        "all",
        "then",
        "into",
        "as",
    ]
)
# A clause that refers to earlier output depends on the previous task (or on all of them).
_REFERS_BACK = re.compile(
    r"\b(it|that|them|those|the (result|results|output|outputs|answer|findings|summary|"
    r"analysis|text|story|poem|above|report|facts|information))\b",
    re.IGNORECASE,
)
_REFERS_ALL = re.compile(r"\b(both|all of (them|that|this|the above)|everything above)\b", re.I)


def stem(word: str) -> str:
    """Crude but deterministic: a five-letter prefix merges summarize/summary/summarization."""
    return word[:5]


def terms(text: str) -> list[str]:
    words = re.findall(r"[a-z][a-z0-9-]*", text.lower().replace("_", " "))
    return [stem(w) for w in words if w not in STOPWORDS]


class DeterministicPlanner:
    """Keyword planner. Same query and manifest, same plan."""

    name = "deterministic"

    async def plan(self, query: str, manifest: CapabilitiesManifest) -> ExecutionPlan:
        return self.plan_sync(query, manifest)

    def plan_sync(self, query: str, manifest: CapabilitiesManifest) -> ExecutionPlan:
        served = [c for c in manifest.capabilities if any(a.healthy_instances for a in c.agents)]
        if not served:
            raise PlanningFailed("no agents are registered, so there is nothing to plan with")
        clauses = split_clauses(query)
        if not clauses:
            raise PlanningFailed("the request is empty")
        index = index_of(manifest)
        tasks: list[SubTask] = []
        spare_data: list[str] = [b for c in clauses for b in c.data]
        notes: list[str] = []
        for clause in clauses:
            cap, score = index.best(clause.text)
            if score <= 0 and clause.data and not clause.text.strip():
                continue  # a bare data block: handed to the analysis clause that needs it
            if score <= 0:
                cap = index.fallback()
            deps = self._dependencies(clause, tasks)
            task_id = f"t{len(tasks) + 1}"
            inp = self._input(clause, cap, manifest, spare_data, bool(deps))
            tasks.append(
                SubTask(
                    task_id=task_id,
                    description=clause.text[:200] or cap,
                    capability=cap,
                    input=inp,
                    depends_on=deps,
                )
            )
            notes.append(f"{task_id}: {cap}" + (f" after {', '.join(deps)}" if deps else ""))
        if not tasks:
            raise PlanningFailed("the request holds no task that any agent serves")
        return ExecutionPlan(tasks=tasks, reasoning="; ".join(notes), planner="deterministic")

    @staticmethod
    def _dependencies(clause: Clause, earlier: list[SubTask]) -> list[str]:
        if not earlier or clause.data:
            return []
        if _REFERS_ALL.search(clause.text):
            return [t.task_id for t in earlier]
        if _REFERS_BACK.search(clause.text):
            return [earlier[-1].task_id]
        return []

    @staticmethod
    def _input(
        clause: Clause,
        cap: str,
        manifest: CapabilitiesManifest,
        spare_data: list[str],
        has_deps: bool,
    ) -> dict[str, Any]:
        schema = _schema_for(manifest, cap)
        props: dict[str, Any] = schema.get("properties", {}) or {}
        text = clause.text
        inp: dict[str, Any] = {}
        if "data" in props:
            data = clause.data[0] if clause.data else (None if has_deps else _take(spare_data))
            if data is not None:
                inp["data"] = data
                if data in spare_data:
                    spare_data.remove(data)
            if "question" in props and text:
                inp["question"] = text
            return inp
        for key in ("prompt", "query", "text", "question", "input"):
            if key in props:
                inp[key] = text
                return inp
        required = [
            k for k in schema.get("required", []) if props.get(k, {}).get("type") == "string"
        ]
        inp[required[0] if required else "prompt"] = text
        return inp


def _take(spare: list[str]) -> str | None:
    return spare[0] if spare else None


def _schema_for(manifest: CapabilitiesManifest, cap: str) -> dict[str, Any]:
    for c in manifest.capabilities:
        if c.name == cap and c.agents:
            best = max(c.agents, key=lambda a: (a.priority, a.healthy_instances))
            return dict(best.input_schema)
    return {}


_LAST_INDEX: tuple[CapabilitiesManifest, _Index] | None = None


def index_of(manifest: CapabilitiesManifest) -> _Index:
    """``_Index(manifest)``, made once per manifest (the last one's kept, the manifest held
    with it): a planned run's manifest is the same object until the registry's cache
    changes (``DiscoveryClient.manifest``: built anew, never changed in place), and the
    index of seven capabilities cost ~0.4 ms a planned request. A manifest changed in place
    would keep its old index: make a new one (``model_copy``) instead."""
    global _LAST_INDEX
    last = _LAST_INDEX
    if last is None or last[0] is not manifest:
        last = _LAST_INDEX = (manifest, _Index(manifest))
    return last[1]


class _Index:
    """BM25 over one document per capability."""

    K1 = 1.2
    B = 0.5

    def __init__(self, manifest: CapabilitiesManifest) -> None:
        self.docs: dict[str, Counter[str]] = {}
        self.priority: dict[str, int] = {}
        for c in manifest.capabilities:
            if not any(a.healthy_instances for a in c.agents):
                continue
            words = [c.name, c.name.replace("_", " "), SYNONYMS.get(c.name, "")]
            for a in c.agents:
                words += [a.description, " ".join(a.tags)]
                for s in a.skills:
                    words += [s.id, s.description, " ".join(s.tags), " ".join(s.examples)]
            # The capability's own name and synonyms count three times over agent prose.
            doc = Counter(terms(" ".join(words))) + Counter(
                terms(f"{c.name} {SYNONYMS.get(c.name, '')}") * 2
            )
            self.docs[c.name] = doc
            self.priority[c.name] = max(a.priority for a in c.agents)
        n = len(self.docs)
        df: Counter[str] = Counter()
        for doc in self.docs.values():
            df.update(set(doc))
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        lengths = [sum(d.values()) for d in self.docs.values()]
        self.avg = sum(lengths) / max(1, len(lengths))

    def score(self, cap: str, query_terms: list[str]) -> float:
        doc = self.docs[cap]
        length = sum(doc.values())
        total = 0.0
        for t in set(query_terms):
            tf = doc.get(t, 0)
            if tf:
                norm = (
                    tf * (self.K1 + 1) / (tf + self.K1 * (1 - self.B + self.B * length / self.avg))
                )
                total += self.idf.get(t, 0.0) * norm
        # The clause's first word is usually its verb: weigh it double.
        if query_terms and doc.get(query_terms[0]):
            total += self.idf.get(query_terms[0], 0.0)
        return total

    def best(self, text: str) -> tuple[str, float]:
        q = terms(text)
        ranked = sorted(self.docs, key=lambda c: (-self.score(c, q), -self.priority[c], c))
        return ranked[0], self.score(ranked[0], q)

    def fallback(self) -> str:
        """For a clause nothing matches: general text generation if served, else the first."""
        if "text_generation" in self.docs:
            return "text_generation"
        return sorted(self.docs)[0]
