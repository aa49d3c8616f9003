"""Shared fixtures of the discovery tests: a fake clock and descriptor builders."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_contracts import AgentDescriptor


class FakeClock:
    """A wall clock that only moves when a test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _descriptor(
    instance_id: str = "writer-1",
    *,
    agent_id: str = "writer",
    capabilities: tuple[str, ...] = ("text_generation",),
    tags: tuple[str, ...] = (),
    port: int = 8001,
    **extra: Any,
) -> AgentDescriptor:
    """A streaming worker descriptor; ``extra`` overrides any field."""
    fields: dict[str, Any] = {
        "agent_id": agent_id,
        "instance_id": instance_id,
        "endpoint": f"http://127.0.0.1:{port}",
        "capabilities": list(capabilities),
        "streaming_mode": "dynamic_events",
        "tags": list(tags),
        **extra,
    }
    return AgentDescriptor.model_validate(fields)


def _static_descriptor(agent_id: str = "facts", answer: str = "Paris.") -> AgentDescriptor:
    """A declared static agent with no process."""
    return AgentDescriptor.model_validate(
        {
            "agent_id": agent_id,
            "capabilities": ["search"],
            "streaming_mode": "static",
            "endpoint": None,
            "invoke_path": None,
            "static_response": answer,
        }
    )


@pytest.fixture
def make_descriptor() -> Any:
    """``make_descriptor(instance_id, agent_id=..., capabilities=..., tags=..., **fields)``."""
    return _descriptor


@pytest.fixture
def make_static() -> Any:
    """``make_static(agent_id, answer)``: a declared static agent with no endpoint."""
    return _static_descriptor
