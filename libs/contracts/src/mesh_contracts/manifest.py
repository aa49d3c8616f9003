"""The planner's view of the registry: capabilities and the logical agents serving them.

One builder for everyone: discovery serves it at ``GET /v1/manifest``; the orchestrator
builds the same manifest from its cached records (only what it may route to), so a planner
sees one shape whichever side made it.
"""

from __future__ import annotations

from collections.abc import Iterable

from mesh_contracts.descriptor import AgentDescriptor
from mesh_contracts.registry import (
    AgentRecord,
    CapabilitiesManifest,
    ManifestAgent,
    ManifestCapability,
)


def build_manifest(records: Iterable[AgentRecord], index: int) -> CapabilitiesManifest:
    """Group ``records`` by capability, then by logical agent (agent_id).

    Each agent is described by its most recently registered instance; ``healthy_instances``
    counts its passing instances. Capabilities are sorted by name, agents by descending
    priority then agent_id, so the manifest is stable for a given registry state.
    """
    by_agent: dict[str, list[AgentRecord]] = {}
    for record in records:
        by_agent.setdefault(record.descriptor.agent_id, []).append(record)
    by_capability: dict[str, list[ManifestAgent]] = {}
    for agent_id, instances in by_agent.items():
        latest = max(instances, key=lambda r: (r.registered_at, r.descriptor.instance_id))
        d = latest.descriptor
        agent = ManifestAgent(
            agent_id=agent_id,
            description=d.description,
            streaming_mode=d.streaming_mode,
            healthy_instances=sum(1 for r in instances if r.healthy),
            skills=d.skills,
            tags=d.tags,
            input_schema=d.input_schema,
            resources=d.resources,
            priority=d.priority,
        )
        capabilities = {c for r in instances for c in r.descriptor.capabilities}
        for capability in capabilities:
            by_capability.setdefault(capability, []).append(agent)
    return CapabilitiesManifest(
        index=index,
        capabilities=[
            ManifestCapability(
                name=name, agents=sorted(agents, key=lambda a: (-a.priority, a.agent_id))
            )
            for name, agents in sorted(by_capability.items())
        ],
    )


def manifest_of(descriptors: Iterable[AgentDescriptor], index: int = 0) -> CapabilitiesManifest:
    """``build_manifest`` over passing instances given by their descriptors alone."""
    return build_manifest(
        (AgentRecord(descriptor=d, registered_at=0.0, last_heartbeat=0.0) for d in descriptors),
        index,
    )
