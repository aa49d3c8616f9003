"""The intent planner: segments routed by a small trained model, linked by multilingual rules.

``IntentPlanner.plan`` splits the request into segments (``segment``), asks the intent model
(``model``) which job each one is (one of the well-known capabilities, a world ``action`` no
agent performs, or ``none``: a constraint, a remark, context), and builds the plan:

* a segment that starts with a negation ("no need to look anything up", "sin texto") or an
  "only" constrains the others and is no task; so is ``none``;
* ``action`` and a job no healthy agent serves are *unresolvable*: left out and named
  (``PlanningFailed`` when nothing is left), a capability the model does not know (an agent's
  own) is matched on the manifest's words (``deterministic``'s BM25);
* enumerations fan out (``fanout``); references and jobs that work on an earlier result link
  to it (``links``); inline data goes to the task that uses it; inputs fit the agent's schema.

No torch, no network: numpy and a few MB of weights. Same request and manifest, same plan.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mesh_contracts import CapabilitiesManifest, ExecutionPlan, ManifestAgent, SubTask
from mesh_orchestrator.planning.deterministic import Draft, PlanningFailed, _Index
from mesh_orchestrator.planning.intent import lexicon as lx
from mesh_orchestrator.planning.intent.fanout import fan_out
from mesh_orchestrator.planning.intent.links import Links
from mesh_orchestrator.planning.intent.model import CLASSES, JOBS, WEIGHTS, IntentModel, shared
from mesh_orchestrator.planning.intent.segment import Segment, Segmenter
from mesh_orchestrator.planning.structure import fill_input

# Below this probability a job the manifest cannot serve is not moved to the next best one.
MOVE_MIN = 0.15
# Who does a job when its own capability is not served: the writer writes code, summaries
# and translations too (a weaker answer beats none).
STAND_IN = {
    "code_generation": "text_generation",
    "summarization": "text_generation",
    "translation": "text_generation",
}
TAKES_DATA = frozenset(["data_analysis", "lora_training"])
TRANSFORMS = frozenset(["summarization", "translation"])
# A capability the model does not know wins a segment on BM25 when the model is this unsure.
UNSURE = 0.5


@dataclass
class Routed:
    """A segment and what it became: a capability, or why it is no task."""

    segment: Segment
    capability: str | None
    score: float
    why: str = ""  # "constraint", "none", or why it is unresolvable
    probs: dict[str, float] = field(default_factory=dict)


def _best_agent(agents: list[ManifestAgent]) -> ManifestAgent:
    return max(agents, key=lambda a: (a.priority, a.healthy_instances))


class IntentPlanner:
    """The planner that needs no LLM (``ORCH_PLANNER=intent``, the default)."""

    name = "intent"

    def __init__(self, weights: str | Path | None = None) -> None:
        self.path = Path(weights) if weights else WEIGHTS
        self._model: IntentModel | None = None
        self._segmenter: Segmenter | None = None

    def warm(self) -> None:
        """Load the weights (milliseconds)."""
        if self._model is None:
            model = shared(self.path)
            self._segmenter = Segmenter(model.openers)
            self._model = model

    @property
    def ready(self) -> bool:
        return self._model is not None

    def prepare(self, manifest: CapabilitiesManifest) -> None:
        self.warm()

    async def plan(self, query: str, manifest: CapabilitiesManifest) -> ExecutionPlan:
        return (await self.draft(query, manifest)).plan

    async def draft(self, query: str, manifest: CapabilitiesManifest) -> Draft:
        """The plan with its notes and the parts left out, for the planning facade (in a
        thread: a request of thousands of lines must not hold the event loop)."""
        return await asyncio.to_thread(self.draft_sync, query, manifest)

    def plan_sync(self, query: str, manifest: CapabilitiesManifest) -> ExecutionPlan:
        return self.draft_sync(query, manifest).plan

    def draft_sync(self, query: str, manifest: CapabilitiesManifest) -> Draft:
        """A validated plan (planner ``intent``); ``PlanningFailed`` when nothing is
        registered, the request is empty, or no part of it can be served. Small talk and a
        request that asks nothing an agent could name ("hello", "thanks!") go to the writer."""
        served = {
            c.name: c for c in manifest.capabilities if any(a.healthy_instances for a in c.agents)
        }
        if not served:
            raise PlanningFailed("no agents are registered, so there is nothing to plan with")
        self.warm()
        assert self._model is not None and self._segmenter is not None
        segments = self._segmenter.split(query)
        if not segments:
            raise PlanningFailed("the request is empty")
        routed = self._route(segments, served, manifest)
        _material_first(routed)
        _continuations(routed, self._segmenter)
        _merge_analyses(routed)
        return _Build(routed, served, query).plan()

    def _route(
        self, segments: list[Segment], served: dict[str, Any], manifest: CapabilitiesManifest
    ) -> list[Routed]:
        assert self._model is not None and self._segmenter is not None
        texts = [_model_text(s) for s in segments]
        probs = self._model.probabilities(texts)
        _claim_data(segments, probs, self._model)
        probs = self._model.probabilities([_model_text(s) for s in segments])
        own = [c for c in served if c not in CLASSES]
        index = _Index(manifest) if own else None
        out: list[Routed] = []
        for seg, row in zip(segments, probs, strict=True):
            p = {c: float(v) for c, v in zip(CLASSES, row, strict=True)}
            top = max(p, key=lambda c: p[c])
            if index is not None:
                cap, bm25 = index.best(seg.instruction)
                if cap in own and bm25 > 0 and (p[top] < UNSURE or top in ("none", "action")):
                    out.append(Routed(seg, cap, bm25, probs=p))
                    continue
            announced = seg.joined in ("then", "item")  # "then ...", "- ...": a step is meant
            if top == "none" and announced:
                job = max((c for c in JOBS if c in served), key=lambda c: p[c], default=None)
                if job is not None and p[job] >= MOVE_MIN:
                    top = job
            if top == "none":
                out.append(Routed(seg, None, p[top], "none", p))
            elif top == "action":
                out.append(Routed(seg, None, p[top], "an action in the world no agent performs", p))
            elif top in served:
                out.append(Routed(seg, top, p[top], probs=p))
            elif STAND_IN.get(top) in served:
                out.append(Routed(seg, STAND_IN[top], p[top], probs=p))
            else:
                jobs = [c for c in JOBS if c in served]
                alt = max(jobs, key=lambda c: p[c]) if jobs else None
                if alt is not None and p[alt] >= MOVE_MIN:
                    out.append(Routed(seg, alt, p[alt], probs=p))
                else:
                    out.append(Routed(seg, None, p[top], f"{top}: no healthy agent serves it", p))
        _constraints(out, self._segmenter)
        _context(out, self._segmenter)
        _questions_about_data(out, self._model)
        return out


def _claim_data(segments: list[Segment], probs: Any, model: IntentModel) -> None:
    """Data a segment carries without asking anything of it ("here's last week's signups"
    before the question, a table at the end of "Analyze this table and then ...") moves to
    the first segment that, given a table, asks for an analysis of it."""
    data_at = CLASSES.index("data_analysis")
    carriers = [i for i, s in enumerate(segments) if s.data]
    loose = [i for i in carriers if CLASSES[int(np.argmax(probs[i]))] not in TAKES_DATA]
    bare = [i for i, s in enumerate(segments) if not s.data and not s.payload and s.instruction]
    if not bare or not carriers:
        return
    given = model.probabilities([_model_text(segments[i]) + " ddd" for i in bare])
    if not loose:  # "Analyze this table and then explain the findings: <table>"
        last = carriers[-1]
        for i, row in zip(bare, given, strict=True):
            if i < last and int(np.argmax(row)) == data_at and row[data_at] > probs[last][data_at]:
                segments[i].data, segments[last].data = segments[last].data, []
                return
        return
    for i, row in zip(bare, given, strict=True):
        if int(np.argmax(row)) == data_at:
            blocks = [b for k in loose for b in segments[k].data]
            for k in loose:
                segments[k].data = []
            segments[i].data = blocks
            return


def _context(routed: list[Routed], segmenter: Segmenter) -> None:
    """A remark that opens no job and that the model is unsure of ("Our accountant retires on
    Friday.", "My colleague forwarded me this") is context for the job after it."""
    for r, nxt in itertools.pairwise(routed):
        if r.capability is None and r.why != "an action in the world no agent performs":
            continue
        if nxt.capability is None or r.segment.data or r.segment.payload:
            continue
        if segmenter.opens_job(r.segment.instruction) or _asks(r.segment):
            continue
        if r.capability is not None and r.score >= UNSURE:
            continue
        nxt.segment.text = f"{r.segment.text}. {nxt.segment.text}"
        r.capability, r.why = None, "none"


def _asks(seg: Segment) -> bool:
    words = _lead(seg)
    return seg.instruction.rstrip().endswith("?") or bool(
        words
        and (
            words[0] in lx.ARTICLES or words[0] in ("i", "we", "ich", "je", "ik", "io", "eu", "yo")
        )
    )


def _questions_about_data(routed: list[Routed], model: IntentModel) -> None:
    """A question next to a table that, given the table, asks for an analysis of it ("Which
    branch sells most?" beside the rows) is part of that analysis, not a lookup."""
    for i, r in enumerate(routed):
        if r.capability != "search" or r.segment.data:
            continue
        lead = _lead(r.segment)
        if not (r.segment.instruction.rstrip().endswith("?") or (lead and lead[0] in lx.QUESTION)):
            continue  # "Look up X" beside a table is a lookup; only a question may be about it
        near = [routed[j] for j in (i - 1, i + 1) if 0 <= j < len(routed)]
        if not any(n.capability == "data_analysis" and n.segment.data for n in near):
            continue
        row = model.probabilities([_model_text(r.segment) + " ddd"])[0]
        if CLASSES[int(np.argmax(row))] == "data_analysis":
            r.capability = "data_analysis"


def _material_first(routed: list[Routed]) -> None:
    """ "Summarize in one sentence and then translate into English: <text>": the text is the
    material of the first step of the chain; the later one reads its output."""
    jobs = [r for r in routed if r.capability is not None]
    for prev, r in itertools.pairwise(jobs):
        a, b = prev.segment, r.segment
        if not b.payload or a.payload or a.data or b.data or b.joined not in ("then", "and"):
            continue
        if prev.capability in TRANSFORMS and r.capability in TRANSFORMS:
            a.payload, b.payload = b.payload, ""
            a.text, b.text = f"{a.text}: {a.payload}", b.instruction


def _continuations(routed: list[Routed], segmenter: Segmenter) -> None:
    """A few words after a piece of writing that start no job of their own ("Hello! How are
    you?", "Olá, tudo bem contigo?") belong to it."""
    from mesh_orchestrator.planning.intent.model import tokens

    prev: Routed | None = None
    for r in routed:
        words = tokens(r.segment.instruction)
        greeting = prev is not None and len(tokens(prev.segment.instruction)) <= 3
        if (
            prev is not None
            and prev.capability == "text_generation"
            and r.capability is not None
            and len(words) <= (6 if greeting else 3)
            and not (r.segment.data or r.segment.payload)
            and (
                not segmenter.is_opener(words[0] if words else "")
                or (greeting and r.capability == "text_generation")
            )
        ):
            prev.segment.instruction += " " + r.segment.instruction
            prev.segment.text += " " + r.segment.text
            r.capability, r.why = None, "continuation"
            continue
        if r.capability is not None:
            prev = r


def _merge_analyses(routed: list[Routed]) -> None:
    """Two questions about one table ("which sells most, and any odd value?") are one analysis."""
    prev: Routed | None = None
    for r in routed:
        if r.capability is None:
            continue
        if (
            prev is not None
            and prev.capability == r.capability == "data_analysis"
            and r.segment.joined in ("and", "sentence", "para")
            and not (prev.segment.data and r.segment.data)
        ):
            prev.segment.instruction += "; " + r.segment.instruction
            prev.segment.text += "; " + r.segment.text
            prev.segment.data = prev.segment.data + r.segment.data
            r.capability, r.why = None, "continuation"
            continue
        prev = r


def _model_text(seg: Segment) -> str:
    text = seg.instruction or ""
    if seg.data:
        text += " ddd"
    if seg.payload:
        text += " ppp"
    return text.strip() or "ddd"


def _plain_noun(word: str) -> bool:
    return word in lx.DETERMINER or word in lx.ARTICLES or word in lx.JOB_NOUNS


def _lead(seg: Segment) -> list[str]:
    from mesh_orchestrator.planning.intent.model import tokens

    return [w for w in tokens(seg.instruction) if w not in lx.POLITE][:3]


def _constraints(routed: list[Routed], segmenter: Segmenter) -> None:
    """Negated and "only" segments are constraints on the rest when the rest holds a job;
    the line that introduces a list ("For the newsletter I need:") is no job either."""
    for r in routed:
        if r.segment.intro:
            r.capability, r.why = None, "none"
    lead = [_lead(r.segment) for r in routed]
    negated = [any(w in lx.NEGATION for w in words) for words in lead]
    # "only the picture" constrains; "just translate this" is a job said plainly
    only = [
        len(words) > 1
        and words[0] in lx.ONLY
        and r.capability is not None
        and _plain_noun(words[1])
        and not segmenter.is_opener(words[1])
        for words, r in zip(lead, routed, strict=True)
    ]
    jobs = [r.capability is not None and not (negated[i] or only[i]) for i, r in enumerate(routed)]
    if not any(jobs):
        return
    for i, r in enumerate(routed):
        if negated[i] or only[i]:
            r.capability, r.why = None, "constraint"


class _Build:
    """Turn routed segments into tasks: fan-outs, links, data and inputs."""

    def __init__(self, routed: list[Routed], served: dict[str, Any], query: str) -> None:
        self.routed = routed
        self.query = query
        self.schemas: dict[str, dict[str, Any]] = {
            name: dict(_best_agent([a for a in c.agents if a.healthy_instances]).input_schema)
            for name, c in served.items()
        }
        self.tasks: list[SubTask] = []
        self.notes: list[str] = []
        self.unresolvable: list[str] = []

    def plan(self) -> Draft:
        links = Links()
        handed: list[Segment] = []  # data handed over before the segment that uses it
        for r in self.routed:
            seg = r.segment
            if r.capability is None:
                if r.why not in ("none", "constraint", "continuation"):
                    self.unresolvable.append(f"{seg.instruction[:80]!r} ({r.why})")
                elif (seg.data or seg.payload) and r.why == "none":
                    handed.append(seg)
                continue
            if handed and not seg.data and not seg.payload:
                seg.data = [b for h in handed for b in h.data]
                seg.payload = " ".join(h.payload for h in handed if h.payload)
                handed = []
            self._add(r, links)
        if handed:
            self._late(handed)
        if not self.tasks and not self.unresolvable and "text_generation" in self.schemas:
            self._chat()
        if not self.tasks:
            raise PlanningFailed(
                "unresolvable: no registered capability serves "
                + ("; ".join(self.unresolvable) or "this request"),
                self.unresolvable or ["this request"],
            )
        reasoning = "intent: " + "; ".join(self.notes)
        if self.unresolvable:
            reasoning += "; unresolvable (no capability serves it, left out): " + "; ".join(
                self.unresolvable
            )
        plan = ExecutionPlan(tasks=self.tasks, reasoning=reasoning, planner="intent")
        return Draft(plan, list(self.notes), list(self.unresolvable))

    def _add(self, r: Routed, links: Links) -> None:
        seg, cap = r.segment, r.capability
        assert cap is not None
        schema = self.schemas[cap]
        takes_data = "data" in (schema.get("properties") or {})
        deps = links.reads(seg, cap, takes_data)
        last = links.last_group
        if (
            len(last) == 1
            and last[0].capability == cap
            and cap in ("text_generation", "image_generation")
            and not (_lead(seg) and _lead(seg)[0] in lx.QUESTION)
            and deps == [last[0].task_id]
            and not (seg.data or seg.payload)
        ):
            self._fold(last[0], seg)
            return
        variants = fan_out(seg.text, seg.instruction, cap)
        group: list[SubTask] = []
        for text, instruction in variants:
            body = f"{text}: {seg.payload}" if seg.payload and seg.payload not in text else text
            task = SubTask(
                task_id=f"t{len(self.tasks) + 1}",
                description=text[:200] or cap,
                capability=cap,
                input=fill_input(schema, body, instruction, seg.data),
                depends_on=deps,
            )
            self.tasks.append(task)
            group.append(task)
            note = f"{task.task_id} {cap} {r.score:.2f}"
            if deps:
                note += f" after {', '.join(deps)}"
            if seg.data:
                note += " (inline data)"
            self.notes.append(note)
        links.add(seg, group)

    def _chat(self) -> None:
        """Nothing asked that an agent could name, nothing refused: the writer answers."""
        text = self.query.strip()[:2000]
        self.tasks.append(
            SubTask(
                task_id="t1",
                description=text[:200],
                capability="text_generation",
                input=fill_input(self.schemas["text_generation"], text, text, []),
            )
        )
        self.notes.append("t1 text_generation: no job named, the writer answers")

    def _fold(self, task: SubTask, seg: Segment) -> None:
        """ "make it rhyme" after a poem: a restyling of that task, not a second one."""
        for key in ("prompt", "text", "query", "question"):
            if isinstance(task.input.get(key), str):
                task.input[key] = f"{task.input[key]}; {seg.instruction}"
                break
        task.description = f"{task.description}; {seg.instruction}"[:200]
        self.notes.append(f"{task.task_id} also: {seg.instruction[:60]!r}")

    def _late(self, handed: list[Segment]) -> None:
        """Data handed after every instruction goes to the first data task without any."""
        blocks = [b for h in handed for b in h.data]
        for task in self.tasks:
            props = self.schemas[task.capability].get("properties") or {}
            if "data" in props or "examples" in props:
                if blocks and "data" not in task.input:
                    task.input = fill_input(
                        self.schemas[task.capability], task.description, task.description, blocks
                    )
                    task.depends_on = []
                return


__all__ = ["IntentPlanner", "PlanningFailed"]
