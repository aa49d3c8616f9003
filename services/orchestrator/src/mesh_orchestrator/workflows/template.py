"""A saved workflow: a named plan template, its parameters (a JSON Schema) and how a run is
made from it with arguments.

A template is a plan (``ExecutionPlan``'s JSON) whose strings may hold placeholders
``{{ name }}``, each naming a declared parameter. ``render`` puts the arguments in: a string
that is one placeholder and nothing else becomes the argument's JSON value as is (a number
stays a number), a placeholder inside a longer string is replaced by the argument as text.
Conditions (``when``, ``repeat_until``) take no placeholders: the plan language stays a
fixed expression, never text built from a caller's arguments. Arguments are validated
against the parameters' schema first (``jsonschema``); a parameter left out takes its
``default``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mesh_contracts import ExecutionPlan

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}")
NAME = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
#: Where a placeholder may not stand: the plan language's expressions.
NO_PLACEHOLDERS = ("when", "repeat_until")


class WorkflowError(ValueError):
    """A template or arguments that do not fit; the message is short and safe to show."""


class WorkflowSpec(BaseModel):
    """``POST /v1/workflows``: what a client saves (a new version when the name exists)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME)
    description: str = Field(default="", max_length=2000)
    # The arguments' JSON Schema: an object schema (properties, required, defaults).
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    # The run's query text (placeholders allowed); default: "workflow <name>".
    query: str = Field(default="", max_length=8000)
    plan: dict[str, Any]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.parameters.get("type") != "object":
            raise ValueError('parameters must be an object schema ({"type": "object", ...})')
        import jsonschema  # ~40 ms of CPU to import: with the first workflow, not at start

        try:
            jsonschema.Draft202012Validator.check_schema(self.parameters)
        except jsonschema.SchemaError as exc:
            raise ValueError(
                f"parameters is not a valid JSON Schema: {exc.message[:200]}"
            ) from None
        declared = set(self.parameters.get("properties") or {})
        used = set(placeholders(self.plan)) | set(placeholders(self.query))
        unknown = sorted(used - declared)
        if unknown:
            raise ValueError(f"placeholders name undeclared parameters: {', '.join(unknown)}")
        for task in self.plan.get("tasks") or []:
            for key in NO_PLACEHOLDERS:
                if isinstance(task, dict) and placeholders(task.get(key)):
                    raise ValueError(f"{key} may not hold placeholders")
        try:  # the template is a plan already (placeholders are strings until rendered)
            ExecutionPlan.model_validate(self.plan)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"plan: {where}: {first['msg']}"[:400]) from None
        return self


def placeholders(value: Any) -> list[str]:
    """The parameter names the placeholders in ``value`` (any JSON) name, in order."""
    if isinstance(value, str):
        return PLACEHOLDER.findall(value)
    if isinstance(value, dict):
        return [n for v in value.values() for n in placeholders(v)]
    if isinstance(value, list):
        return [n for v in value for n in placeholders(v)]
    return []


def arguments_of(spec: WorkflowSpec, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` validated against the parameters (``WorkflowError`` naming the first
    problem), with each missing parameter's ``default``."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(spec.parameters)
    error = jsonschema.exceptions.best_match(validator.iter_errors(given))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "arguments"
        raise WorkflowError(f"{where}: {error.message[:200]}")
    args = dict(given)
    for name, prop in (spec.parameters.get("properties") or {}).items():
        if name not in args and isinstance(prop, dict) and "default" in prop:
            args[name] = prop["default"]
    return args


def _fill(value: Any, args: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value.strip())
        if whole is not None:
            return args.get(whole.group(1))

        def text(m: re.Match[str]) -> str:
            v = args.get(m.group(1))
            if v is None:
                return ""
            return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)

        return PLACEHOLDER.sub(text, value)
    if isinstance(value, dict):
        return {k: _fill(v, args) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, args) for v in value]
    return value


def render(spec: WorkflowSpec, given: dict[str, Any]) -> tuple[str, ExecutionPlan]:
    """The run's query and plan for ``given`` arguments; ``WorkflowError`` when they do
    not fit the parameters or the filled plan is not a valid plan."""
    args = arguments_of(spec, given)
    query = _fill(spec.query, args) if spec.query else f"workflow {spec.name}"
    try:
        plan = ExecutionPlan.model_validate({**_fill(spec.plan, args), "planner": "workflow"})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise WorkflowError(
            f"the plan filled with these arguments: {where}: {first['msg']}"[:400]
        ) from None
    return str(query), plan
