"""The OpenAI chat API's shared wire shapes, for every server of it in the mesh (the
writer's model API, the orchestrator's "mesh as a model"): messages, stream options, the
error body, ids and usage. Each server adds its own request model on top of these.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

_JSON: TypeAdapter[Any] = TypeAdapter(Any)

__all__ = [
    "ChatMessage",
    "OpenAIError",
    "StreamOptions",
    "TextPart",
    "completion_id",
    "now",
    "usage",
]


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


RequestT = TypeVar("RequestT", bound=BaseModel)


def parse_request(raw: bytes, model: type[RequestT]) -> RequestT:
    """A request body as ``model``; else the ``OpenAIError`` (400) that says what is wrong:
    not JSON, not an object, or the first field that does not validate."""
    try:  # pydantic's JSON parser: nesting past 200 levels is an error, not a RecursionError
        body = _JSON.validate_json(raw)
    except ValidationError as exc:
        problem = exc.errors(include_input=False)[0]["msg"][:200]
        raise OpenAIError(f"the body is not valid JSON: {problem}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise OpenAIError("the body must be a JSON object", code="invalid_json")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise OpenAIError.from_validation(exc) from None


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
