"""What a worker says about itself: identity, endpoint, capabilities, mode, hardware."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mesh_contracts.capabilities import Capability

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,127}$")


class StreamingMode(StrEnum):
    """How a worker delivers its output."""

    DYNAMIC_EVENTS = "dynamic_events"  # token-level SSE stream
    DYNAMIC_MESSAGES = "dynamic_messages"  # one whole message per step
    STATIC = "static"  # one JSON answer


class ResourceSpec(BaseModel):
    """Hardware a worker instance runs on; filled from the machine at start-up."""

    model_config = ConfigDict(extra="forbid")

    gpu: bool = False
    gpu_count: int = Field(default=0, ge=0)
    gpu_model: str | None = None
    vram_mb: int | None = Field(default=None, ge=0)
    device: str = "cpu"
    cuda_version: str | None = None
    torch_version: str | None = None


class Skill(BaseModel):
    """A named thing an agent is good at, with examples the planner can match against."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128)
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)


class AgentDescriptor(BaseModel):
    """Everything the registry and the orchestrator know about one worker instance.

    ``agent_id`` is the logical name shared by every replica (``writer``); ``instance_id``
    identifies one replica and is the registry's key.
    """

    model_config = ConfigDict(extra="forbid")

    agent_id: str = Field(min_length=1, max_length=128)
    instance_id: str = Field(default="", max_length=256)
    name: str = ""
    description: str = ""
    version: str = "0.1.0"
    endpoint: str | None = None
    health_path: str = "/health"
    invoke_path: str | None = "/invoke"
    stream_path: str | None = "/stream"
    capabilities: list[Capability] = Field(min_length=1)
    skills: list[Skill] = Field(default_factory=list)
    streaming_mode: StreamingMode = StreamingMode.STATIC
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    static_response: Any = None
    priority: int = 0
    timeout_seconds: float = Field(default=60.0, gt=0, le=86_400)
    max_concurrency: int = Field(default=8, ge=1)
    # May a sub-task that broke off mid-stream be run again on another replica? None: yes,
    # unless the agent trains models (a half-done training run is not repeated silently).
    retry_safe: bool | None = None
    resources: ResourceSpec = Field(default_factory=ResourceSpec)
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("agent_id")
    @classmethod
    def _agent_id_is_a_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"agent_id {value!r} must be lowercase letters, digits, '.', '-' or '_'"
            )
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_http(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
            raise ValueError(f"endpoint {value!r} must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("health_path", "invoke_path", "stream_path")
    @classmethod
    def _path_is_absolute(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError(f"path {value!r} must start with '/'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.instance_id:
            self.instance_id = self.agent_id
        if not self.name:
            self.name = self.agent_id
        if self.streaming_mode is StreamingMode.STATIC:
            if self.static_response is None and (self.invoke_path is None or self.endpoint is None):
                raise ValueError(
                    "a static agent needs a static_response, or an endpoint with an invoke_path"
                )
        else:
            if self.endpoint is None or self.stream_path is None:
                raise ValueError(
                    f"a {self.streaming_mode.value} agent needs an endpoint and a stream_path"
                )
        return self

    @property
    def safe_to_retry(self) -> bool:
        if self.retry_safe is not None:
            return self.retry_safe
        return "lora_training" not in self.capabilities

    @property
    def has_process(self) -> bool:
        """False for a declared static agent answered from its descriptor alone."""
        return self.endpoint is not None

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this instance (raises if it has no endpoint)."""
        if self.endpoint is None:
            raise ValueError(f"agent {self.agent_id!r} has no endpoint")
        return self.endpoint + path
