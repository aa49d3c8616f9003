"""What the intent planner's case tests share (``test_intent_*.py``): the shipped planner, the
agents it plans against, and a plan reduced to what a case asserts.

A case plans one request written for it and compares the tasks (their capabilities, in plan
order) and which earlier tasks each reads, as 1-based positions: ``[("search", []),
("text_generation", ["1"])]`` is a lookup and a text that reads it.
"""

from __future__ import annotations

from mesh_contracts import AgentDescriptor, CapabilitiesManifest, manifest_of
from mesh_orchestrator.planning.intent import IntentPlanner

# the shipped planner (its intent model and learned edges), built once for every case file
PLANNER = IntentPlanner()

Shape = list[tuple[str, list[str]]]

_TEXT = {"prompt": {"type": "string"}}
_QUERY = {"query": {"type": "string"}}


def agent(
    agent_id: str, caps: list[str], props: dict[str, object], description: str = ""
) -> AgentDescriptor:
    """One agent serving ``caps`` whose input schema has the fields ``props``."""
    return AgentDescriptor(
        agent_id=agent_id,
        instance_id=agent_id,
        name=agent_id,
        description=description,
        endpoint="http://127.0.0.1:9",
        capabilities=caps,
        input_schema={"type": "object", "properties": props},
    )


def manifest(*extra: AgentDescriptor) -> CapabilitiesManifest:
    """A writer (text, summaries, translations), a lookup, an analyst and a painter, and
    ``extra`` beside them."""
    return manifest_of(
        [
            agent("writer", ["text_generation", "summarization", "translation"], _TEXT),
            agent("lookup", ["search"], _QUERY),
            agent("analyst", ["data_analysis"], {"data": {"type": "string"}, "question": {}}),
            agent("painter", ["image_generation"], _TEXT),
            *extra,
        ],
        index=1,
    )


def manifest_with_trainer() -> CapabilitiesManifest:
    """``manifest()`` and an adapter trainer that takes a list of examples (the edge cases)."""
    return manifest(agent("trainer", ["lora_training"], {"examples": {"type": "array"}}))


def manifest_without_summaries() -> CapabilitiesManifest:
    """A writer that also writes code but makes no summaries, a lookup and a painter: no
    analyst (the action cases)."""
    return manifest_of(
        [
            agent("writer", ["text_generation", "code_generation", "translation"], _TEXT),
            agent("lookup", ["search"], _QUERY),
            agent("painter", ["image_generation"], _TEXT),
        ],
        index=1,
    )


def shape_of(
    query: str, agents: CapabilitiesManifest | None = None, *, planner: IntentPlanner = PLANNER
) -> Shape:
    """``query`` planned by ``planner`` against ``agents`` (default ``manifest()``): each task's
    capability and the 1-based positions of the tasks it reads, in plan order."""
    plan = planner.plan_sync(query, agents or manifest())
    ids = {t.task_id: str(i + 1) for i, t in enumerate(plan.tasks)}
    return [(t.capability, [ids[d] for d in t.depends_on]) for t in plan.tasks]


def caps_of(
    query: str, agents: CapabilitiesManifest | None = None, *, planner: IntentPlanner = PLANNER
) -> list[str]:
    """The capabilities of the tasks ``query`` is planned into, in plan order (nodes, not
    edges)."""
    return [t.capability for t in planner.plan_sync(query, agents or manifest()).tasks]
