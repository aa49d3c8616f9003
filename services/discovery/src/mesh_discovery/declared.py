"""Agents declared in a YAML file: loaded at start-up, never expire, always passing.

The file holds a list of AgentDescriptor documents, either at the top level or under an
``agents:`` key. Typical use: static agents answered from their ``static_response`` alone,
with no process and no endpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mesh_contracts import AgentDescriptor


class AgentsFileError(ValueError):
    """The agents file cannot be used; the message names the file, the entry and the field."""


def load_agents_file(path: str | Path) -> list[AgentDescriptor]:
    """Parse and validate every entry of ``path``; raise ``AgentsFileError`` on the first bad one.

    Instance ids must be unique across the file (an entry without one takes its agent_id).
    """
    path = Path(path)
    try:
        document: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AgentsFileError(f"agents file {path}: cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise AgentsFileError(f"agents file {path}: not valid YAML: {exc}") from exc
    if document is None:
        return []
    if isinstance(document, dict) and set(document) == {"agents"}:
        document = document["agents"] or []
    if not isinstance(document, list):
        raise AgentsFileError(
            f"agents file {path}: expected a list of agent descriptors (or an 'agents:' list),"
            f" got {type(document).__name__}"
        )
    agents: list[AgentDescriptor] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(document, start=1):
        label = _label(number, entry)
        if not isinstance(entry, dict):
            raise AgentsFileError(
                f"agents file {path}: {label}: expected a mapping, got {type(entry).__name__}"
            )
        try:
            descriptor = AgentDescriptor.model_validate(entry)
        except ValidationError as exc:
            problems = "; ".join(_describe(err) for err in exc.errors())
            raise AgentsFileError(f"agents file {path}: {label}: {problems}") from None
        if descriptor.instance_id in seen:
            raise AgentsFileError(
                f"agents file {path}: {label}: field 'instance_id': {descriptor.instance_id!r}"
                f" is already used by entry {seen[descriptor.instance_id]}"
            )
        seen[descriptor.instance_id] = number
        agents.append(descriptor)
    return agents


def _label(number: int, entry: object) -> str:
    if isinstance(entry, dict) and isinstance(entry.get("agent_id"), str):
        return f"entry {number} (agent_id {entry['agent_id']!r})"
    return f"entry {number}"


def _describe(error: Any) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "(descriptor)"
    return f"field {field!r}: {error['msg']}"
