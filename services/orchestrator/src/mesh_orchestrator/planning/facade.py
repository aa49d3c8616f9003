"""One place that plans: ``Planning.plan(query, manifest) -> PlanOutcome``.

It owns the choice of planner, the fallback chain and the LLM attempts. The planner that
needs no LLM (the intent planner unless ``ORCH_PLANNER`` says otherwise) always drafts first:
it takes milliseconds. With an LLM planner configured, the LLM then plans with that draft as
its hint, up to ``attempts`` times (each refusal kept with its reason; a timeout, an
unreachable LLM or a request it refuses ends the tries at once, as another would fail the
same way); the first plan it gets right wins, else the draft does. A request no agent can
serve ends with no plan and ``unresolvable`` saying which parts nobody serves, so the caller
can answer honestly instead of failing. The graph's ``plan`` node and ``POST /v1/plans`` both call this; nothing reads a
reason back out of a string.

On a thread, ``conversation`` holds the earlier turns: the planners plan the request as it
is written, then its references to earlier output ("translate that", "the second
paragraph") become the inputs of the tasks that mention them (``planning.references``),
each with a note among the reasons.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from mesh_contracts import CapabilitiesManifest, ExecutionPlan
from mesh_orchestrator.conversation import Conversation
from mesh_orchestrator.planning import references
from mesh_orchestrator.planning.branching import draft_branches
from mesh_orchestrator.planning.deterministic import Draft, Planner, PlanningFailed
from mesh_orchestrator.planning.llm import PlanRejected

log = logging.getLogger(__name__)

# Requests this long or shorter are drafted on the loop's thread: the intent planner takes
# ~2 ms per 100 characters of a many-clause request, 0.9 ms (p50) on the planning bench's.
INLINE_CHARS = 256


class HintedPlanner(Protocol):
    """An LLM planner: one attempt, with the no-LLM draft as a hint (or None)."""

    async def plan(
        self, query: str, manifest: CapabilitiesManifest, hint: ExecutionPlan | None = None
    ) -> ExecutionPlan: ...


@dataclass
class Rejected:
    """An LLM attempt that was refused, and why."""

    planner: str
    attempt: int
    reason: str


@dataclass
class PlanOutcome:
    """What planning gave. ``plan`` is None when nothing can be planned: ``unresolvable``
    then names the parts of the request no agent serves (``declined``), or ``error`` says
    why there is nothing to plan with (no agent registered, an empty request).
    ``reasons``: the chosen planner's notes, one per task; ``rejected``: the LLM attempts
    refused before it; ``fallback``: the LLM was configured but its plans were refused."""

    plan: ExecutionPlan | None
    planner: str | None
    reasons: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    unresolvable: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def declined(self) -> bool:
        """No plan because no agent serves any part of the request (an honest refusal)."""
        return self.plan is None and bool(self.unresolvable)

    def summary(self) -> str:
        """One line for the run's plan event and logs."""
        parts = []
        if self.rejected:
            parts.append(
                "LLM plan rejected ("
                + "; ".join(f"attempt {r.attempt}: {r.reason}" for r in self.rejected)
                + ")"
            )
        parts += self.reasons
        if self.unresolvable:
            parts.append("unresolvable, left out: " + "; ".join(self.unresolvable))
        return "; ".join(parts)


OnAttempt = Callable[[int, str, str | None], None]  # attempt, "running"|"rejected", reason


async def _draft(planner: Planner, query: str, manifest: CapabilitiesManifest) -> Draft:
    """The planner's draft with its notes, structured when it offers ``draft`` (the intent
    planner does); another planner's plan comes with its reasoning as the one note. A
    request of at most ``INLINE_CHARS`` is drafted here, on the loop's thread, when the
    planner offers ``draft_sync``: its plan takes about a millisecond, less than the
    hand-off to a thread and back cost a run; a longer one goes to the planner's ``draft``
    (a thread), so a request of thousands of lines does not hold the loop."""
    inline = getattr(planner, "draft_sync", None)
    if inline is not None and len(query) <= INLINE_CHARS:
        result: Draft = inline(query, manifest)
        return result
    drafting = getattr(planner, "draft", None)
    if drafting is not None:
        drafted: Draft = await drafting(query, manifest)
        return drafted
    plan = await planner.plan(query, manifest)
    return Draft(plan, [plan.reasoning] if plan.reasoning else [], [])


class Planning:
    """The planning facade (see the module docstring). ``draft``: the planner that needs no
    LLM; ``llm``: the LLM planner or None; ``attempts``: LLM tries before the draft wins."""

    def __init__(self, draft: Planner, llm: HintedPlanner | None = None, attempts: int = 2) -> None:
        self.draft = draft
        self.llm = llm
        self.attempts = attempts

    @property
    def name(self) -> str:
        """``llm+<draft>`` with an LLM planner, else the draft planner's name."""
        base = str(getattr(self.draft, "name", "planner"))
        return f"llm+{base}" if self.llm is not None else base

    async def plan(
        self,
        query: str,
        manifest: CapabilitiesManifest,
        on_attempt: OnAttempt | None = None,
        conversation: Conversation | None = None,
    ) -> PlanOutcome:
        outcome = await self._plan(query, manifest, on_attempt)
        refs = references.find(query, conversation)
        if outcome.plan is not None and refs:
            outcome.plan, notes = references.attach(outcome.plan, refs)
            outcome.reasons += notes
        return outcome

    async def _plan(
        self, query: str, manifest: CapabilitiesManifest, on_attempt: OnAttempt | None
    ) -> PlanOutcome:
        drafted: Draft | None = None
        unresolvable: list[str] = []
        error: str | None = None
        try:
            # "if ... then ... otherwise ..." is a branch around parts drafted one by one.
            drafted = await draft_branches(
                lambda text, m: _draft(self.draft, text, m), query, manifest
            ) or await _draft(self.draft, query, manifest)
        except PlanningFailed as exc:
            unresolvable = list(exc.unresolvable)
            error = str(exc)
        draft = drafted.plan if drafted is not None else None
        rejected: list[Rejected] = []
        if self.llm is not None and manifest.capabilities:
            for attempt in range(1, self.attempts + 1):
                if on_attempt is not None:
                    on_attempt(attempt, "running", None)
                try:
                    plan = await self.llm.plan(query, manifest, hint=draft)
                except PlanRejected as exc:
                    rejected.append(Rejected("llm", attempt, exc.reason))
                    if on_attempt is not None:
                        on_attempt(attempt, "rejected", exc.reason)
                    if not exc.retry:  # a timeout or a refusal recurs: the draft wins now
                        break
                    continue
                plan.planner = "llm"
                notes = [plan.reasoning] if plan.reasoning else ["planned by the LLM"]
                return PlanOutcome(plan, "llm", notes, rejected)
        if drafted is None:
            return PlanOutcome(
                None, None, [], rejected, unresolvable, None if unresolvable else error
            )
        return PlanOutcome(
            drafted.plan, drafted.plan.planner, drafted.notes, rejected, drafted.unresolvable
        )
