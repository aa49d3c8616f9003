"""Request and response shapes of the OpenAI-compatible chat API (the subset we serve).

The shapes shared with the orchestrator's OpenAI API live in ``mesh_contracts.openai_wire``;
this module adds the writer's own: ``response_format`` and the request with its limits."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# The wire shapes every OpenAI server of the mesh shares (the orchestrator serves one too).
from mesh_contracts.openai_wire import (
    ChatMessage,
    OpenAIError,
    StreamOptions,
    TextPart,
    completion_id,
    now,
    parse_request,
    usage,
)
from mesh_worker_writer.json_constraint import ANY_JSON_OBJECT

__all__ = [
    "ChatCompletionRequest",
    "ChatMessage",
    "JsonSchemaFormat",
    "OpenAIError",
    "ResponseFormat",
    "StreamOptions",
    "TextPart",
    "completion_id",
    "now",
    "parse_request",
    "usage",
]


class JsonSchemaFormat(BaseModel):
    """``response_format.json_schema``: ``{"name", "schema", "strict", "description"}``.

    Without ``schema`` any JSON object is allowed. ``strict`` is accepted and moot: the
    schema is always enforced while decoding.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    name: str | None = Field(default=None, max_length=64)
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    def schema_to_enforce(self) -> dict[str, Any] | None:
        """The JSON Schema the answer must fit, or None for free text."""
        if self.type == "text":
            return None
        if self.type == "json_schema" and self.json_schema and self.json_schema.schema_:
            return self.json_schema.schema_
        return dict(ANY_JSON_OBJECT)


class ChatCompletionRequest(BaseModel):
    """``POST /v1/chat/completions``. Unknown fields are ignored as OpenAI's SDKs add new
    ones often; known ones are checked. ``model`` may be ``<base>:<adapter id>``."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=256)
    messages: list[ChatMessage] = Field(min_length=1, max_length=256)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    stop: str | list[str] | None = None
    n: int | None = Field(default=None, ge=1)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    response_format: ResponseFormat | None = None
    tools: list[dict[str, Any]] | None = None

    def check_supported(self) -> None:
        """Raise ``OpenAIError`` for valid requests this server cannot honour."""
        if self.n not in (None, 1):
            raise OpenAIError("n: only n=1 is supported", param="n", code="unsupported_value")
        fmt = self.response_format
        if fmt is not None and fmt.type == "json_schema" and fmt.json_schema is None:
            raise OpenAIError(
                "response_format.json_schema: required when type is 'json_schema'",
                param="response_format.json_schema",
                code="missing_required_parameter",
            )
        if self.tools:
            raise OpenAIError(
                "tools: tool calling is not supported by this model",
                param="tools",
                code="unsupported_parameter",
            )

    def stop_strings(self) -> tuple[str, ...]:
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        if len(stops) > 4:
            raise OpenAIError("stop: at most 4 stop sequences", param="stop")
        return tuple(s for s in stops if s)
