"""Chat messages for one writer task: the system prompt, the upstream material, the ask."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mesh_contracts import output_text

DEFAULT_SYSTEM = (
    "You are a helpful writing assistant. Follow the instructions exactly and answer "
    "directly, without preamble."
)
JSON_INSTRUCTION = "Respond with one valid JSON object and nothing else."
#: Upstream material beyond this many characters is cut: a small model's context is short
#: and the tail of a long document rarely changes a summary.
MAX_CONTEXT_CHARS = 12_000


def render_value(value: Any) -> str:
    """An upstream output as text a small model can use (``mesh_contracts.output_text``)."""
    return output_text(value)


def render_context(context: Mapping[str, Any], limit: int = MAX_CONTEXT_CHARS) -> str:
    """Upstream outputs, one section per task id, within ``limit`` characters in all."""
    sections = [(task_id, render_value(v)) for task_id, v in context.items()]
    sections = [(t, text) for t, text in sections if text]
    if not sections:
        return ""
    share = max(limit // len(sections), 1)
    parts = []
    for task_id, text in sections:
        if len(text) > share:
            text = text[:share].rstrip() + " [...]"
        parts.append(f"[{task_id}]\n{text}")
    return "\n\n".join(parts)


def build_messages(
    prompt: str, system: str | None = None, context: Mapping[str, Any] | None = None
) -> list[dict[str, str]]:
    """System + user messages; upstream material (if any) comes before the instruction so
    that "summarize it" refers to it."""
    material = render_context(context or {})
    user = f"Material from earlier steps:\n\n{material}\n\nTask: {prompt}" if material else prompt
    return [
        {"role": "system", "content": system or DEFAULT_SYSTEM},
        {"role": "user", "content": user},
    ]


#: A schema longer than this (compact JSON) is not pasted into the prompt: the enforcer
#: holds the answer to it anyway, and a planner's schema (24k characters for the five shipped
#: workers, 7k tokens) would overflow a small model's context and cost minutes of prefill.
MAX_SCHEMA_PROMPT_CHARS = 1500


def json_instruction(schema: Mapping[str, Any] | None) -> str:
    """What to add to the system prompt when the answer is constrained to JSON: the
    enforcer makes it valid JSON anyway; told about it, the model also fills it sensibly.
    A long schema is named by its top-level keys only (``MAX_SCHEMA_PROMPT_CHARS``)."""
    if not schema or dict(schema) == {"type": "object"}:
        return JSON_INSTRUCTION
    text = _compact(schema)
    if len(text) > MAX_SCHEMA_PROMPT_CHARS:
        keys = list((schema.get("properties") or {}).keys())
        required = [k for k in schema.get("required") or [] if k in keys]
        shape = f" Its keys: {', '.join(keys)} (required: {', '.join(required) or 'none'})."
        return f"{JSON_INSTRUCTION}{shape if keys else ''}"
    if schema.get("type", "object") != "object":
        return f"Respond with JSON only, fitting this JSON Schema: {text}"
    return f"{JSON_INSTRUCTION} It must fit this JSON Schema: {text}"


def _compact(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, separators=(",", ":"), ensure_ascii=False)
