"""Request and response shapes of the OpenAI-compatible chat API (the subset we serve)."""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mesh_worker_writer.json_constraint import ANY_JSON_OBJECT


class OpenAIError(Exception):
    """An error answered as ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        param: str | None = None,
        code: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message, self.status, self.param, self.code, self.type = (
            message,
            status,
            param,
            code,
            type,
        )

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    @classmethod
    def from_validation(cls, exc: ValidationError) -> OpenAIError:
        """The first problem of a pydantic error, naming the field like OpenAI does."""
        first = exc.errors(include_url=False, include_context=False, include_input=False)[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        return cls(f"{param or 'body'}: {first['msg']}", param=param, code="invalid_value")


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")  # name, tool_call_id ... are accepted, unused

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


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


def completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex


def now() -> int:
    return int(time.time())


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
