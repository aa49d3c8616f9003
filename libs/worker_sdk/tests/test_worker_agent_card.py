"""Every worker serves its descriptor as an A2A agent card at /.well-known/agent-card.json."""

from __future__ import annotations

from typing import Any

import httpx
from a2a.client.card_resolver import parse_agent_card
from a2a.utils.proto_utils import validate_proto_required_fields
from pydantic import BaseModel

from mesh_contracts import AgentDescriptor, ResourceSpec, Skill, StreamingMode, TaskRequest
from mesh_contracts.a2a import GPU_EXTENSION_URI, MESH_WORKER_BINDING
from mesh_worker import Emit, Worker, WorkerSettings, create_worker_app
from mesh_worker.testing import serving


class PaintInput(BaseModel):
    prompt: str


class GpuWriter(Worker[PaintInput]):
    Input = PaintInput

    def describe(self) -> AgentDescriptor:
        return AgentDescriptor(
            agent_id="painter",
            capabilities=["image_generation"],
            skills=[Skill(id="paint", description="paints pictures", examples=["a red fox"])],
            streaming_mode=StreamingMode.DYNAMIC_EVENTS,
            endpoint="http://placeholder.invalid",
            resources=ResourceSpec(gpu=True, gpu_count=1, gpu_model="H200", vram_mb=143771),
        )

    async def run(self, task: TaskRequest, inp: PaintInput, emit: Emit) -> Any:
        return None


def test_the_card_is_a_valid_a2a_card_naming_the_skills_the_gpu_and_the_worker_binding() -> None:
    settings = WorkerSettings(discovery_url="", public_url="http://painter.example:8004")
    with serving(create_worker_app(GpuWriter(), settings)) as base:
        body = httpx.get(base + "/.well-known/agent-card.json").json()
    card = parse_agent_card(body)
    validate_proto_required_fields(card)  # raises on a missing required field
    assert card.name == "painter"
    assert [(s.id, list(s.tags), list(s.examples)) for s in card.skills] == [
        ("paint", ["image_generation"], ["a red fox"])
    ]
    [iface] = card.supported_interfaces
    assert (iface.url, iface.protocol_binding) == (
        "http://painter.example:8004/stream",
        MESH_WORKER_BINDING,
    )
    assert card.capabilities.streaming
    gpu = {e.uri: e for e in card.capabilities.extensions}[GPU_EXTENSION_URI]
    [facts] = gpu.params["instances"]
    assert (facts["gpu_model"], facts["vram_mb"], facts["agentId"]) == ("H200", 143771, "painter")
