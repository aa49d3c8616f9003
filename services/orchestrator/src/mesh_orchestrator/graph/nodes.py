"""The run graph's nodes: each does one job, writes the state keys it owns, never routes.

Every node emits through the run's emitter (``EMITTER`` in the run's config): typed
payloads for what the run says about itself, ``relay`` for worker events (the executor).
The plan arrives typed in the state (validated where it was made), so no node re-checks it.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mesh_contracts import (
    Budget,
    CapabilitiesManifest,
    ExecutionPlan,
    ManifestCapability,
    NodeStatus,
    PhaseStatus,
    RunAnswer,
    RunFailure,
    RunStatus,
    TaskOutcomeData,
    TaskStatus,
)
from mesh_contracts.event_bodies import Made, PlanMade, plan_chosen, run_answer
from mesh_orchestrator.conversation import Conversation
from mesh_orchestrator.emitter import Emitter
from mesh_orchestrator.graph.policy import EMITTER, EPOCH, GATE, REGISTRY_READ, RunState
from mesh_orchestrator.planning.facade import Planning
from mesh_orchestrator.relay.budget import RunBudget
from mesh_orchestrator.relay.executor import Executor, TaskOutcome
from mesh_orchestrator.routing.registry import RunRead
from mesh_orchestrator.routing.resolver import Resolver
from mesh_orchestrator.synthesis.decline import decline_answer, left_out_note
from mesh_orchestrator.synthesis.deterministic import Synthesizer, run_status
from mesh_orchestrator.synthesis.llm import LLMSynthesizer, SynthesisUnavailable
from mesh_orchestrator.tracing import NO_TRACER, Tracer

if TYPE_CHECKING:  # LangGraph's imports cost ~1 s of CPU; only an approval needs them
    from langchain_core.runnables import RunnableConfig

SYNTHESIS_TASK = "synthesis"
Node = Callable[[RunState, "RunnableConfig"], Awaitable[RunState]]


@dataclass
class GraphDeps:
    """What the nodes use; shared by every run. ``llm_synthesizer`` is None without an LLM."""

    manifest: Callable[[], CapabilitiesManifest]
    resolver: Resolver
    executor: Executor
    planning: Planning  # the planning facade: planner choice, LLM attempts, fallback
    synthesizer: Synthesizer  # the deterministic synthesis, also the LLM's fallback
    llm_synthesizer: LLMSynthesizer | None = None
    tracer: Tracer = NO_TRACER  # phase spans (plan, execute, synthesize) when tracing


def emitter(config: RunnableConfig) -> Emitter:
    """The run's emitter; every run's config carries one (``RunService`` puts it there)."""
    events: Emitter = (config.get("configurable") or {})[EMITTER]
    return events


def available_manifest(manifest: CapabilitiesManifest, resolver: Resolver) -> CapabilitiesManifest:
    keep = resolver.available_capabilities()
    caps: list[ManifestCapability] = [c for c in manifest.capabilities if c.name in keep]
    return CapabilitiesManifest(index=manifest.index, capabilities=caps)


def _missing(state: RunState, sep: str) -> str:
    return sep.join(f"{k}: {v}" for k, v in (state.get("unresolvable") or {}).items())


def _replan_note(state: RunState) -> str:
    if not state.get("replans"):
        return ""
    return f"replanned with the capabilities available now ({_missing(state, ', ')}); "


def conversation(state: RunState) -> Conversation | None:
    """The thread's earlier turns this run sees (None off a thread, or on a new one)."""
    raw = state.get("conversation")
    found = Conversation.model_validate(raw) if raw else None
    return found if found is not None and found.turns else None


def _outcomes(state: RunState) -> dict[str, TaskOutcomeData]:
    return {k: TaskOutcomeData.model_validate(r) for k, r in (state.get("results") or {}).items()}


def make_nodes(d: GraphDeps) -> dict[str, Node]:
    """The graph's nodes by name, closing over ``d``."""

    async def plan(state: RunState, config: RunnableConfig) -> RunState:
        """Ask the planning facade; LLM attempts and refusals leave as ``status`` events."""
        events = emitter(config)

        def attempt(n: int, status: str, reason: str | None) -> None:
            events.emit(
                PhaseStatus(
                    phase="plan",
                    planner="llm",
                    attempt=n,
                    status="running" if status == "running" else "rejected",
                    reason=reason,
                )
            )

        manifest = available_manifest(d.manifest(), d.resolver)
        outcome = await d.planning.plan(state["query"], manifest, attempt, conversation(state))
        if outcome.plan is None:
            return {
                "plan": None,
                "plan_error": outcome.error or "nothing in the request can be served",
                "unservable": outcome.unresolvable,
            }
        return {
            "plan": outcome.plan,
            "planner": outcome.planner or outcome.plan.planner,
            "reason": _replan_note(state) + outcome.summary(),
            "plan_error": None,
            "unservable": outcome.unresolvable,
        }

    async def decline(state: RunState, config: RunnableConfig) -> RunState:
        """No agent serves any part of the request: say so, and what the mesh can do."""
        events = emitter(config)
        answer = decline_answer(state.get("unservable") or [], d.manifest())
        events.emit(RunAnswer(answer=answer, status=RunStatus.COMPLETED, results={}))
        return {"answer": answer, "status": RunStatus.COMPLETED}

    async def resolve(state: RunState, config: RunnableConfig) -> RunState:
        plan = state.get("plan")
        assert plan is not None
        done = state.get("resume_done") or {}
        missing = {k: v for k, v in d.resolver.unresolvable(plan).items() if k not in done}
        read: RunRead | None = (config.get("configurable") or {}).get(REGISTRY_READ)
        if missing and read is not None:
            # The cache falls short: take the run's own read of discovery (bounded by its
            # timeout; it never raises) before replanning or failing.
            await read.wait()
            missing = {k: v for k, v in d.resolver.unresolvable(plan).items() if k not in done}
        return {"unresolvable": missing}

    async def replan(state: RunState, config: RunnableConfig) -> RunState:
        emitter(config).emit(
            PhaseStatus(phase="plan", status="replanning", reason=_missing(state, ", "))
        )
        return {"replans": state.get("replans", 0) + 1}

    async def accept_partial(state: RunState, config: RunnableConfig) -> RunState:
        reason = state.get("reason", "")
        missing = _missing(state, "; ")
        return {"reason": f"{reason} (running without unresolvable tasks: {missing})".strip()}

    async def await_approval(state: RunState, config: RunnableConfig) -> RunState:
        """Announce the plan, say the run awaits approval, and interrupt the graph: its
        ``astream`` ends here and ``RunService`` parks the run (``awaiting_approval`` in the
        store). Approval takes the run up again from its stored plan (``approved`` set), so
        this node is never resumed in place."""
        events = emitter(config)
        plan = state.get("plan")
        assert plan is not None
        planner = state.get("planner") or plan.planner
        events.emit(_chosen(plan, planner, state.get("reason", "")))
        missing = _missing(state, "; ")
        events.emit(
            PhaseStatus(
                phase="approval",
                status="awaiting_approval",
                reason="POST /v1/runs/{id}/approve or /reject"
                + (f" (unresolvable now: {missing})" if missing else ""),
            )
        )
        # What LangGraph's ``interrupt`` raises, raised here: it needs no checkpointer nor
        # LangGraph's own context, so the graph's runner (``graph.build``) parks the same way.
        # Its errors cost ~0.6 s of CPU to import: on a thread, with the first approval.
        await _load_errors()
        from langgraph.errors import GraphInterrupt
        from langgraph.types import Interrupt

        raise GraphInterrupt(
            (Interrupt(value={"awaiting": "approval", "run_id": state.get("run_id")}),)
        )

    async def execute(state: RunState, config: RunnableConfig) -> RunState:
        events = emitter(config)
        plan = state.get("plan")
        assert plan is not None
        planner = state.get("planner") or plan.planner
        resumed = state.get("resume_done")
        if resumed is None and not state.get("plan_announced"):  # else it is in the log
            events.emit(_chosen(plan, planner, state.get("reason", "")))
        done = {k: TaskOutcome.of(r) for k, r in (resumed or {}).items()}
        limits = state.get("budget")
        budget = RunBudget(
            Budget.model_validate(limits) if limits else None,
            state.get("budget_used"),
            since=state.get("active_since"),
        )
        running = d.executor.run(
            plan,
            events,
            run_id=state.get("run_id"),
            timeout_seconds=state.get("timeout_seconds"),
            done=done,
            attempts_before=state.get("resume_attempts"),
            owner=state.get("owner"),
            gate=config["configurable"].get(GATE),
            inputs=state.get("resume_inputs"),
            resume=state.get("resume_asked"),
            iterations=state.get("resume_loops"),
            pinned=state.get("resume_pinned"),
            budget=budget,
            epoch=config["configurable"].get(EPOCH, 0),
            conversation=conversation(state),
        )
        # Read: this node's copy of the state (a dict of every key) is not held by this
        # frame while the run's calls stream (~1 KB of every open stream).
        del state
        outcomes = await running
        results = {k: o.public() for k, o in outcomes.items()}
        stopped = budget.describe() if budget.exhausted else None
        # every run's use (tokens, GPU-seconds, sub-tasks, wall time), budget or not
        return {"results": results, "budget_exhausted": stopped, "budget_used": budget.used()}

    async def synthesize_llm(state: RunState, config: RunnableConfig) -> RunState:
        assert d.llm_synthesizer is not None
        events = emitter(config)
        plan = state.get("plan")
        assert plan is not None
        results = state.get("results") or {}
        model = d.llm_synthesizer.model_name

        def status(s: NodeStatus, reason: str | None = None) -> None:
            events.emit(TaskStatus(status=s, agent_id=model, reason=reason), SYNTHESIS_TASK, model)

        async def on_token(token: str) -> None:
            events.relay("token", {"token": token}, SYNTHESIS_TASK, model)

        status(NodeStatus.RUNNING)
        try:
            answer = await d.llm_synthesizer.synthesize(
                state["query"], plan, results, on_token, conversation(state)
            )
        except SynthesisUnavailable as exc:
            status(
                NodeStatus.FAILED,
                f"LLM synthesis unavailable ({exc}); using the deterministic merge",
            )
            return {"synthesis_error": str(exc)}
        if note := left_out_note(state.get("unservable") or []):
            await on_token(note)  # the part no agent serves, said after the answer
            answer += note
        status(NodeStatus.COMPLETED)
        out = _status(state, results)
        events.emit(RunAnswer(answer=answer, status=out, results=_outcomes(state), synthesis="llm"))
        return {"answer": answer, "status": out, "synthesis_error": None}

    async def synthesize(state: RunState, config: RunnableConfig) -> RunState:
        events = emitter(config)
        plan = state.get("plan")
        assert plan is not None
        results = state.get("results") or {}

        async def on_token(token: str) -> None:
            events.relay("token", {"token": token}, SYNTHESIS_TASK, None)

        answer = await d.synthesizer.synthesize(state["query"], plan, results, on_token)
        # a partly-served request: the part no agent serves is named after the answer
        answer += left_out_note(state.get("unservable") or [])
        out = _status(state, results)
        # The answer's body made as ``RunAnswer(..., results=_outcomes(state))`` dumps it.
        body = run_answer(answer, out, state.get("results") or {}, "deterministic")
        events.emit(Made(RunAnswer.TYPE, body))
        return {"answer": answer, "status": out}

    async def fail(state: RunState, config: RunnableConfig) -> RunState:
        events = emitter(config)
        if state.get("plan_error"):
            answer = f"The request could not be planned: {state['plan_error']}"
            events.emit(RunFailure(error=answer, code="planning_failed"))
        else:
            errors = "; ".join(
                f"{k}: {r.get('error')}" for k, r in (state.get("results") or {}).items()
            )
            answer = f"Every sub-task failed. {errors}"
        status = RunStatus.FAILED
        if state.get("budget_exhausted"):
            status = RunStatus.BUDGET_EXHAUSTED
            answer = f"The run's budget ran out: {state['budget_exhausted']}. {answer}"
        events.emit(RunAnswer(answer=answer, status=status, results=_outcomes(state)))
        return {"answer": answer, "status": status}

    nodes: dict[str, Any] = {
        "plan": plan,
        "decline": decline,
        "resolve": resolve,
        "replan": replan,
        "accept_partial": accept_partial,
        "await_approval": await_approval,
        "execute": execute,
        "synthesize_llm": synthesize_llm,
        "synthesize": synthesize,
        "fail": fail,
    }
    return nodes


_ERRORS = "langgraph.errors"
_loaded: set[str] = set()  # what _load_errors imported whole


async def _load_errors() -> None:
    """Import LangGraph's errors on a thread (the event loop keeps serving meanwhile); once
    loaded, a set lookup. Not ``sys.modules``: a module another approval is still importing
    is there already, half run, and importing it on the event loop would block it."""
    if _ERRORS not in _loaded:
        await asyncio.to_thread(importlib.import_module, _ERRORS)
        _loaded.add(_ERRORS)


def _chosen(plan: ExecutionPlan, planner: str, reason: str) -> PlanMade:
    """The ``plan`` event of a plan validated where it was made (the state holds it typed):
    built without validating it again (``PlanChosen(plan=...)`` runs the plan's DAG check
    once more, ~25 us a run), nor making a ``PlanChosen`` (``event_bodies.plan_chosen``)."""
    return plan_chosen(plan, planner, reason)


def _status(state: RunState, results: dict[str, dict[str, Any]]) -> RunStatus:
    """The run's status from its results, ``budget_exhausted`` when its budget stopped it."""
    if state.get("budget_exhausted"):
        return RunStatus.BUDGET_EXHAUSTED
    return run_status(results)
