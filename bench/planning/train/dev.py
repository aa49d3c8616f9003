"""Clause-level training examples for the intent model, read from the dev split's labels.

The dev split's requests are labelled by plan, not by clause. Here each request is planned
by the intent planner as a run plans it (the shipped model), and its segments (what the model
reads) are aligned to the expected tasks in order, by dynamic programming over the planned
ones, so each segment gets the class it should have had:

* a segment aligned to an expected task takes that task's capability (its first alternative,
  or the planned one where that is among them; ``code_generation`` stays so when the writer
  stood in for it);
* a segment that made tasks the expected plan lacks is ``none``, or ``action`` in an
  unservable or partly-servable request (the part nothing serves);
* a segment that made no task and is aligned to nothing keeps what the planner made of it
  (``none`` or ``action``; ``none`` in a request every part of which is served, which holds no
  action) when every expected task is aligned to a segment (else it may be
  the one that should have made the task left over: no example); one the rules set aside
  (a negation, a continuation) or whose alignment cannot be told (a segment that should have been two jobs of different kinds, a
  request answered by the writer as a whole) gives no example.

Only the dev split is read (``requests.yaml`` and ``dev/batch*.yaml``), never a test split.
The examples name no wording: they are the requests' own clauses, as the segmenter cut them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from bench.planning.score import Expected
from mesh_contracts import CapabilitiesManifest
from mesh_orchestrator.planning.deterministic import PlanningFailed
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent import planner as intent_planner
from mesh_orchestrator.planning.intent.draft import DraftBuilder
from mesh_orchestrator.planning.intent.model import CLASSES
from mesh_orchestrator.planning.intent.rules import Routed, _model_text

_ACTION = "an action in the world no agent performs"
# What else no agent serves (live data, video or audio): labelled as an action is.
_UNSERVED = (_ACTION, intent_planner._LIVE, intent_planner._MEDIA)
_STAND_IN = {"code_generation": "text_generation"}
_SKIP_EXPECTED = 1.02  # a missed task costs a little more than giving it to a clause


@dataclass(frozen=True)
class Example:
    text: str  # what the model reads of the segment
    label: str  # one of ``CLASSES``
    request: str  # the request's id


class _Traced(DraftBuilder):
    """The plan build, recording which routed segment made which tasks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.made: dict[int, list[int]] = {}
        self.chat = False

    def _add(self, r: Routed, links: Any) -> None:
        before = len(self.tasks)
        super()._add(r, links)
        self.made[id(r)] = list(range(before, len(self.tasks)))

    def _chat(self) -> None:
        super()._chat()
        self.chat = True


def _routed(
    planner: IntentPlanner, query: str, manifest: CapabilitiesManifest
) -> tuple[list[Routed], _Traced] | None:
    """The routed segments of ``query`` and the traced build (None: nothing to plan)."""
    planner.warm()
    assert planner._segmenter is not None
    served = {
        c.name: c for c in manifest.capabilities if any(a.healthy_instances for a in c.agents)
    }
    segments = planner._segmenter.split(query)
    if not segments:
        return None
    routed = planner._route(segments, served, manifest)
    intent_planner._material_first(routed)
    intent_planner._continuations(routed, planner._segmenter)
    intent_planner._merge_analyses(routed)
    build = _Traced(routed, served, query, None)
    with contextlib.suppress(PlanningFailed):  # nothing servable: the segments still count
        build.plan()
    return routed, build


def _top(r: Routed) -> str:
    return max(r.probs, key=lambda c: r.probs[c]) if r.probs else "none"


def examples(
    planner: IntentPlanner, manifest: CapabilitiesManifest, req: Expected
) -> list[Example]:
    """The labelled segments of ``req`` (see the module's docstring)."""
    traced = _routed(planner, req.request, manifest)
    if traced is None:
        return []
    routed, build = traced
    options = req.options or [frozenset([c]) for c in req.caps]
    got = [t.capability for t in build.tasks]
    if build.chat:  # the writer answered the whole request: no segment made it
        if got and options and got[0] in options[0] and len(options) == 1:
            return [
                Example(_model_text(r.segment), r.why, req.id)
                for r in routed
                if r.capability is None and r.why in ("none", _ACTION)
            ]
        return []
    units = [(r, [got[k] for k in build.made.get(id(r), [])]) for r in routed]
    assert planner._segmenter is not None
    opens = [planner._asks_or_opens(r.segment) for r, _ in units]
    n, m = len(units), len(options)
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int, int] | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            c = cost[i][j]
            if c == inf:
                continue
            if j < m and c + _SKIP_EXPECTED < cost[i][j + 1]:  # a task no segment made
                cost[i][j + 1], back[i][j + 1] = c + _SKIP_EXPECTED, (i, j, 0)
            if i == n:
                continue
            r, caps = units[i]
            # the segment is no task: each task it made is a false one; of two that could be
            # the false one, the one the model is less sure of
            sure = max(r.probs.get(cap, 0.0) for cap in caps) if caps and r.probs else 0.0
            skip = c + len(caps) + 0.01 * sure
            if skip < cost[i + 1][j]:
                cost[i + 1][j], back[i + 1][j] = skip, (i, j, -1)
            for length in range(1, max(1, len(caps)) + 1):
                if j + length > m:
                    break
                block = options[j : j + length]
                if caps:
                    wrong = sum(cap not in o for cap, o in zip(caps, block, strict=False))
                    step = wrong + (len(caps) - length)
                else:
                    p = max(r.probs.get(c, 0.0) for c in block[0]) if r.probs else 0.0
                    step = 1.0 + (0.0 if opens[i] or p >= 0.2 else 0.5) + 0.01 * (1 - p)
                if c + step < cost[i + 1][j + length]:
                    cost[i + 1][j + length], back[i + 1][j + length] = c + step, (i, j, length)
    aligned: dict[int, list[frozenset[str]]] = {}
    missed = 0  # expected tasks no segment was aligned to
    i, j = n, m
    while (i, j) != (0, 0):
        step = back[i][j]
        assert step is not None
        pi, pj, length = step
        if length > 0:
            aligned[pi] = options[pj : pj + length]
        elif pj < j:
            missed += 1
        i, j = pi, pj
    servable_part = req.kind not in ("unservable", "partly-servable")
    out: list[Example] = []
    for k, (r, caps) in enumerate(units):
        text = _model_text(r.segment)
        if k in aligned:
            block = aligned[k]
            if any(o != block[0] for o in block):
                continue  # one segment, two jobs of different kinds: the segmenter's miss
            allowed = block[0]
            label = next((c for c in caps if c in allowed), sorted(allowed)[0])
            top = _top(r)
            if _STAND_IN.get(top) == label:
                label = top
            out.append(Example(text, label, req.id))
        elif caps:
            out.append(Example(text, "none" if servable_part else "action", req.id))
        elif r.why in ("none", *_UNSERVED) and r.capability is None and not missed:
            # (with an expected task left unmatched, this segment may be the one that should
            # have made it: what the planner made of it is no label then). A request every
            # part of which is served holds no action: what the planner took for one there
            # ("just the name" after a question) is no job
            label = "none" if r.why == "none" or servable_part else "action"
            out.append(Example(text, label, req.id))
    return [e for e in out if e.label in CLASSES]
