"""What the discovery service answers: registered instances, leases, the planner's manifest."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from mesh_contracts.descriptor import AgentDescriptor, ResourceSpec, Skill, StreamingMode


class HealthStatus(StrEnum):
    PASSING = "passing"  # lease held (or a declared agent with no process)
    CRITICAL = "critical"  # lease lapsed; left out of healthy results, reaped later


class InstanceLoad(BaseModel):
    """How busy an instance is, as it last reported with its heartbeat.

    The orchestrator routes by it (power of two choices), so replicas of the orchestrator
    that never see each other's calls still spread them by what the workers say.
    """

    model_config = ConfigDict(extra="forbid")

    slots_in_use: int = Field(default=0, ge=0)
    queue_depth: int = Field(default=0, ge=0)  # calls waiting for a slot
    max_concurrency: int | None = Field(default=None, ge=1)
    gpu_free_mb: int | None = Field(default=None, ge=0)
    reported_at: float | None = None


class HeartbeatRequest(BaseModel):
    """Optional body of ``PUT /v1/agents/{instance_id}/heartbeat``: the instance's load."""

    model_config = ConfigDict(extra="forbid")

    load: InstanceLoad | None = None


class AgentRecord(BaseModel):
    """One registered instance as the registry reports it."""

    model_config = ConfigDict(extra="forbid")

    descriptor: AgentDescriptor
    status: HealthStatus = HealthStatus.PASSING
    registered_at: float
    last_heartbeat: float
    lease_expires_at: float | None = None  # None: declared in a file, never expires
    source: str = "api"  # "api" | "file"
    load: InstanceLoad | None = None  # from the last heartbeat that carried one

    @property
    def healthy(self) -> bool:
        return self.status is HealthStatus.PASSING


class Lease(BaseModel):
    """Returned by register and heartbeat: renew before ``expires_at``."""

    instance_id: str
    ttl_seconds: float
    expires_at: float
    index: int


class RegistryChanges(BaseModel):
    """Discovery's answer to a watch (``GET /v1/changes?index=N``): what changed after
    index ``N``. ``full``: discovery no longer knows the changes since ``N`` (too old, or it
    restarted), so ``upserts`` is the whole registry and a reader drops what it had."""

    index: int
    full: bool = False
    upserts: list[AgentRecord] = Field(default_factory=list)
    removals: list[str] = Field(default_factory=list)  # instance ids


class ManifestAgent(BaseModel):
    """One logical agent serving a capability, as a planner sees it."""

    agent_id: str
    description: str
    streaming_mode: StreamingMode
    healthy_instances: int
    skills: list[Skill] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    input_schema: dict[str, object] = Field(default_factory=dict)
    resources: ResourceSpec = Field(default_factory=ResourceSpec)
    priority: int = 0


class ManifestCapability(BaseModel):
    name: str
    agents: list[ManifestAgent]


class CapabilitiesManifest(BaseModel):
    """Every capability with the agents that serve it (healthy ones only by default)."""

    index: int
    capabilities: list[ManifestCapability]

    def names(self) -> list[str]:
        return [c.name for c in self.capabilities]


class RegisterRequest(BaseModel):
    """Body of ``POST /v1/agents``: an idempotent upsert keyed by ``descriptor.instance_id``."""

    model_config = ConfigDict(extra="forbid")

    descriptor: AgentDescriptor
    ttl_seconds: float = Field(default=15.0, gt=0, le=3600)
