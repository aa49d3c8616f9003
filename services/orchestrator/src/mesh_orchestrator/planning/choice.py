"""Which planner and which synthesis run: ``ORCH_PLANNER``, ``ORCH_SYNTHESIS`` and what the
planning benchmark measured (``bench/planning``).

``ORCH_PLANNER``: ``auto`` (the default) is the intent planner (a small trained model and
multilingual rules, no LLM), with the LLM planning first only when the LLM is not the
embedded SmolLM2-135M (its plans scored far below the intent planner's and took tens of
seconds, see bench/planning/README.md); ``llm`` plans with the LLM first whenever one is
configured, whatever the model; ``intent`` and ``deterministic`` (BM25 keywords) never ask an
LLM. Whenever the LLM plans, the no-LLM plan is its hint and its fallback.

``ORCH_SYNTHESIS``: ``auto`` merges deterministically with the embedded SmolLM2 (its answers
carried fewer of the sub-tasks' facts, ``bench/planning --synthesis``) and lets a capable LLM
write; ``llm`` and ``deterministic`` force one.

The old switches ``ORCH_LLM_PLANNING=false`` and ``ORCH_LLM_SYNTHESIS=false`` still work for
one release (they mean ``ORCH_PLANNER=intent`` and ``ORCH_SYNTHESIS=deterministic``) and log
a deprecation warning (``Settings``); ``ORCH_PLANNER=semantic`` (the MiniLM planner, removed
with torch) means ``intent``.
"""

from __future__ import annotations

import logging
from typing import Any

from mesh_orchestrator.planning.deterministic import DeterministicPlanner, Planner
from mesh_orchestrator.planning.facade import HintedPlanner, Planning
from mesh_orchestrator.planning.intent import IntentPlanner

log = logging.getLogger(__name__)

# The embedded writer's model: planning and synthesis with it are off under ``auto``.
EMBEDDED_LLM_MARKERS = ("smollm2-135m", "smollm2_135m")


def _embedded(model: str) -> bool:
    return any(m in model.lower() for m in EMBEDDED_LLM_MARKERS)


def no_llm_planner(settings: Any) -> Planner:
    """The planner that needs no LLM (also the LLM planner's hint and fallback)."""
    if getattr(settings, "planner", "auto") == "deterministic":
        return DeterministicPlanner()
    planner = IntentPlanner()
    planner.warm()  # milliseconds: numpy weights
    return planner


def llm_plans(settings: Any, injected: bool = False) -> bool:
    """Whether the LLM planner runs first: ``llm`` always, ``auto`` unless the only LLM is
    the embedded SmolLM2 (an LLM handed in by the caller, as tests do, always plans)."""
    choice = getattr(settings, "planner", "auto")
    if choice == "llm":
        return True
    if choice != "auto":
        return False
    return injected or not _embedded(str(getattr(settings, "llm_model", "")))


def build_planning(
    settings: Any, draft: Planner, llm: HintedPlanner | None, attempts: int
) -> Planning:
    """The planning facade for these settings: ``llm`` (when not None) plans first."""
    return Planning(draft, llm, attempts)


def llm_synthesizes(settings: Any, injected: bool = False) -> bool:
    """Whether the LLM writes the answer: ``llm`` always, ``deterministic`` never, ``auto``
    unless the only LLM is the embedded SmolLM2 (an injected LLM, as in tests, always)."""
    choice = getattr(settings, "synthesis", "auto")
    if choice != "auto":
        return bool(choice == "llm")
    return injected or not _embedded(str(getattr(settings, "llm_model", "")))


def synthesis_reason(settings: Any, llm_synthesis: bool) -> str:
    """Why this synthesis runs, for ``/health``."""
    choice = getattr(settings, "synthesis", "auto")
    if llm_synthesis:
        return f"ORCH_SYNTHESIS={choice}: the LLM {getattr(settings, 'llm_model', '')}"
    if not getattr(settings, "llm_configured", False):
        return "no LLM configured"
    if choice == "auto":
        return (
            "ORCH_SYNTHESIS=auto with the embedded SmolLM2: the deterministic merge carried "
            "more of the sub-tasks' facts (bench/planning --synthesis)"
        )
    return f"ORCH_SYNTHESIS={choice}"
