"""Wire contracts of the agent mesh. Pure data: pydantic models and the SSE codec."""

from mesh_contracts import capabilities
from mesh_contracts.capabilities import WELL_KNOWN, Capability
from mesh_contracts.descriptor import AgentDescriptor, ResourceSpec, Skill, StreamingMode
from mesh_contracts.events import (
    ArtifactEvent,
    DoneEvent,
    ErrorEvent,
    MessageEvent,
    ProgressEvent,
    ResultEvent,
    StreamEvent,
    StreamEventType,
    TokenEvent,
    WorkerEvent,
    parse_worker_event,
)
from mesh_contracts.manifest import build_manifest, manifest_of
from mesh_contracts.plan import (
    ExecutionPlan,
    NodeStatus,
    PlanError,
    PlanNode,
    Requirements,
    SubTask,
)
from mesh_contracts.registry import (
    AgentRecord,
    CapabilitiesManifest,
    HealthStatus,
    Lease,
    ManifestAgent,
    ManifestCapability,
    RegisterRequest,
)
from mesh_contracts.results import OutputFold, TaskRequest, WorkerResult, fold_events
from mesh_contracts.sse import (
    SSE_HEADERS,
    SSE_MEDIA_TYPE,
    SSEDecoder,
    SSEMessage,
    aiter_sse,
    encode_comment,
    encode_event,
)

__all__ = [
    "WELL_KNOWN",
    "SSE_HEADERS",
    "SSE_MEDIA_TYPE",
    "AgentDescriptor",
    "AgentRecord",
    "ArtifactEvent",
    "CapabilitiesManifest",
    "Capability",
    "DoneEvent",
    "ErrorEvent",
    "ExecutionPlan",
    "HealthStatus",
    "Lease",
    "ManifestAgent",
    "ManifestCapability",
    "MessageEvent",
    "NodeStatus",
    "OutputFold",
    "PlanError",
    "PlanNode",
    "ProgressEvent",
    "RegisterRequest",
    "Requirements",
    "ResourceSpec",
    "ResultEvent",
    "SSEDecoder",
    "SSEMessage",
    "Skill",
    "StreamEvent",
    "StreamEventType",
    "StreamingMode",
    "SubTask",
    "TaskRequest",
    "TokenEvent",
    "WorkerEvent",
    "WorkerResult",
    "aiter_sse",
    "build_manifest",
    "capabilities",
    "encode_comment",
    "encode_event",
    "fold_events",
    "manifest_of",
    "parse_worker_event",
]
