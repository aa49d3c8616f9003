"""What a worker says about itself: identity, endpoint, capabilities, mode, hardware."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mesh_contracts.capabilities import Capability

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,127}$")
# An instance id becomes part of Consul KV keys and service ids: no '/', no whitespace or
# control characters, no leading '.' or '-'.
_INSTANCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
_PATH = re.compile(r"^/[A-Za-z0-9._~/-]{0,255}$")
MAX_PRIORITY = 100
# Bounds on what a registrant may make every reader of the registry (and a planner's
# prompt) carry: serialized JSON sizes of the free-form fields.
MAX_SCHEMA_BYTES = 64 << 10
MAX_STATIC_RESPONSE_BYTES = 64 << 10
MAX_METADATA_BYTES = 16 << 10
MAX_PROMPT_CHARS = 8000
"""The longest ``prompt`` a text worker takes unless its descriptor says otherwise (the
writer's input bound); the orchestrator appends upstream text to a prompt only up to it."""
_SHORT = 128  # names, tags, versions


def _json_size(value: Any) -> int:
    return len(json.dumps(value, default=str, separators=(",", ":")))


def endpoint_problem(value: str) -> str | None:
    """Why ``value`` is not a usable endpoint URL (syntax only), or None."""
    if len(value) > 2048:
        return "is longer than 2048 characters"
    if any(c.isspace() or ord(c) < 32 for c in value):
        return "contains whitespace or control characters"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL with a host"
    if "@" in parts.netloc:
        return "must not carry user info"
    if "?" in value or "#" in value:
        return "must not have a query string or fragment"
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number in range
    except ValueError:
        return "has a port that is not a number in 0-65535"
    return None


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
    description: str = Field(default="", max_length=2000)
    tags: list[Annotated[str, Field(max_length=_SHORT)]] = Field(
        default_factory=list, max_length=32
    )
    examples: list[Annotated[str, Field(max_length=1000)]] = Field(
        default_factory=list, max_length=32
    )


class AgentDescriptor(BaseModel):
    """Everything the registry and the orchestrator know about one worker instance.

    ``agent_id`` is the logical name shared by every replica (``writer``); ``instance_id``
    identifies one replica and is the registry's key.
    """

    model_config = ConfigDict(extra="forbid")

    agent_id: str = Field(min_length=1, max_length=128)
    instance_id: str = Field(default="", max_length=200)
    name: str = Field(default="", max_length=_SHORT)
    description: str = Field(default="", max_length=4000)
    version: str = Field(default="0.1.0", max_length=64)
    endpoint: str | None = Field(default=None, max_length=2048)
    health_path: str = "/health"
    invoke_path: str | None = "/invoke"
    stream_path: str | None = "/stream"
    capabilities: list[Capability] = Field(min_length=1, max_length=32)
    skills: list[Skill] = Field(default_factory=list, max_length=32)
    streaming_mode: StreamingMode = StreamingMode.STATIC
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    static_response: Any = None
    # 0-100; discovery admits only a value in the range the agent's token states (0 unless
    # issued otherwise), so one registration cannot capture every task of a capability.
    priority: int = Field(default=0, ge=0, le=MAX_PRIORITY)
    timeout_seconds: float = Field(default=60.0, gt=0, le=86_400)
    max_concurrency: int = Field(default=8, ge=1)
    # May a sub-task that broke off mid-stream be run again on another replica? None: yes,
    # unless the agent trains models (a half-done training run is not repeated silently).
    retry_safe: bool | None = None
    resources: ResourceSpec = Field(default_factory=ResourceSpec)
    # What the orchestrator needs to know to build a ``prompt`` input: the longest one this
    # agent takes (upstream text appended to a prompt gives way to it), and whether the
    # agent reads upstream outputs from the task's ``context`` itself (then they are not
    # also appended, which would show a small model everything twice).
    max_prompt_chars: int = Field(default=MAX_PROMPT_CHARS, ge=1, le=10_000_000)
    reads_context: bool = False
    tags: list[Annotated[str, Field(max_length=_SHORT)]] = Field(
        default_factory=list, max_length=32
    )
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("agent_id")
    @classmethod
    def _agent_id_is_a_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"agent_id {value!r} must be lowercase letters, digits, '.', '-' or '_'"
            )
        return value

    @field_validator("instance_id")
    @classmethod
    def _instance_id_is_a_key(cls, value: str) -> str:
        if value and not _INSTANCE.match(value):
            raise ValueError(
                "instance_id must be 1-200 letters, digits, '.', '-' or '_', starting with a"
                " letter or digit"
            )
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_http(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = endpoint_problem(value)
        if problem is not None:
            raise ValueError(f"endpoint {value[:100]!r} {problem}")
        return value.rstrip("/")

    @field_validator("health_path", "invoke_path", "stream_path")
    @classmethod
    def _path_is_absolute(cls, value: str | None) -> str | None:
        if value is not None and not _PATH.match(value):
            raise ValueError(
                f"path {value[:100]!r} must start with '/' and hold only letters, digits and"
                " . _ ~ / - (no query string or fragment)"
            )
        return value

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        for name, value, limit in (
            ("input_schema", self.input_schema, MAX_SCHEMA_BYTES),
            ("static_response", self.static_response, MAX_STATIC_RESPONSE_BYTES),
            ("metadata", self.metadata, MAX_METADATA_BYTES),
        ):
            if value is not None and _json_size(value) > limit:
                raise ValueError(f"{name} is larger than {limit} bytes of JSON")
        return self

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
