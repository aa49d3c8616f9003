"""The mesh's vocabulary for A2A (agent-to-agent protocol, v1.0) cards, as plain JSON.

Three things cross the A2A boundary and are named here once:

* ``protocol`` in a descriptor's ``metadata``: ``"a2a"`` marks an external A2A agent that
  discovery registered from its card (the orchestrator calls it with A2A, not the worker API);
  the card's JSON-RPC URL and protocol version travel beside it (``A2A_*`` keys).
* ``GPU_EXTENSION_URI``: the A2A extension (in a card's ``capabilities.extensions``) whose
  ``params.instances`` list the hardware of GPU instances (``gpu_facts``).
* ``descriptor_card``: a mesh worker's descriptor as an A2A card, which every worker serves at
  ``/.well-known/agent-card.json``. A mesh worker speaks the worker API, not A2A's bindings,
  so its one interface carries the binding ``MESH_WORKER_BINDING``: an A2A client finds no
  binding it knows and says so, instead of posting JSON-RPC to ``/stream``.

Pure data: dicts in the card's JSON shape (camelCase), no A2A SDK.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mesh_contracts.descriptor import AgentDescriptor, ResourceSpec, StreamingMode

AGENT_CARD_PATH = "/.well-known/agent-card.json"
A2A_PROTOCOL_VERSION = "1.0"
GPU_EXTENSION_URI = "urn:agent-mesh:a2a:gpu:v1"
WORKER_API_EXTENSION_URI = "urn:agent-mesh:a2a:worker-api:v1"
MESH_WORKER_BINDING = "MESH-WORKER"

# Keys of ``AgentDescriptor.metadata`` for an agent registered from its A2A card.
PROTOCOL_KEY = "protocol"
A2A = "a2a"
A2A_CARD_URL = "a2a_card_url"
A2A_URL = "a2a_url"  # the JSON-RPC interface's URL
A2A_VERSION = "a2a_protocol_version"
# The card's ``securitySchemes`` and ``securityRequirements`` (card JSON): how the agent
# wants its own credentials sent (the orchestrator never sends it the mesh's token).
A2A_SECURITY_SCHEMES = "a2a_security_schemes"
A2A_SECURITY_REQUIREMENTS = "a2a_security_requirements"


def speaks_a2a(d: AgentDescriptor) -> bool:
    """True for an external A2A agent (called with A2A JSON-RPC, cancelled with CancelTask)."""
    return d.metadata.get(PROTOCOL_KEY) == A2A


def a2a_keys(metadata: dict[str, Any]) -> list[str]:
    """The keys of ``metadata`` that only discovery's A2A registration may set (``protocol``
    and ``a2a_*``): a plain registration carrying them is refused, or it could make the
    orchestrator speak A2A to a URL nobody checked."""
    return sorted(k for k in metadata if k == PROTOCOL_KEY or k.startswith("a2a_"))


def gpu_facts(agent_id: str, instance_id: str, r: ResourceSpec) -> dict[str, Any]:
    """One GPU instance's entry in the GPU extension's ``params.instances``."""
    facts = {"agentId": agent_id, "instanceId": instance_id, **r.model_dump(exclude_none=True)}
    return {k: v for k, v in facts.items() if k != "gpu"}


def gpu_extension(instances: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The A2A extension listing GPU instances (``gpu_facts`` each); None when there are none."""
    listed = list(instances)
    if not listed:
        return None
    return {
        "uri": GPU_EXTENSION_URI,
        "description": "GPU hardware of the instances serving this agent's skills",
        "required": False,
        "params": {"instances": listed},
    }


def _skills(d: AgentDescriptor) -> list[dict[str, Any]]:
    if d.skills:
        return [
            {
                "id": s.id,
                "name": s.id,
                "description": s.description or d.description or s.id,
                # A2A requires tags; a skill without any is tagged with the capabilities.
                "tags": s.tags or list(d.capabilities),
                "examples": s.examples,
            }
            for s in d.skills
        ]
    return [
        {"id": c, "name": c, "description": d.description or c, "tags": [c]} for c in d.capabilities
    ]


def descriptor_card(d: AgentDescriptor, base_url: str) -> dict[str, Any]:
    """The worker's descriptor as an A2A v1.0 agent card (JSON). ``base_url`` stands in for
    the endpoint when the descriptor has none yet."""
    endpoint = d.endpoint or base_url.rstrip("/")
    path = d.stream_path if d.streaming_mode is not StreamingMode.STATIC else d.invoke_path
    extensions: list[dict[str, Any]] = [
        {
            "uri": WORKER_API_EXTENSION_URI,
            "description": "this agent speaks the mesh worker API (GET /descriptor)",
            "required": False,
            "params": {
                "descriptor": endpoint + "/descriptor",
                "streamingMode": d.streaming_mode.value,
                "capabilities": list(d.capabilities),
            },
        }
    ]
    if d.resources.gpu:
        gpu = gpu_extension([gpu_facts(d.agent_id, d.instance_id, d.resources)])
        assert gpu is not None
        extensions.append(gpu)
    return {
        "name": d.name,
        "description": d.description or d.name,
        "version": d.version,
        "supportedInterfaces": [
            {
                "url": endpoint + (path or ""),
                "protocolBinding": MESH_WORKER_BINDING,
                "protocolVersion": A2A_PROTOCOL_VERSION,
            }
        ],
        "capabilities": {
            "streaming": d.streaming_mode is not StreamingMode.STATIC,
            "extensions": extensions,
        },
        "defaultInputModes": ["application/json"],
        "defaultOutputModes": ["text/plain", "application/json"],
        "skills": _skills(d),
    }
