"""The intent planner: a small trained model and multilingual rules, no LLM, no torch."""

from mesh_orchestrator.planning.intent.planner import IntentPlanner

__all__ = ["IntentPlanner"]
