"""The writer as a mesh ``Worker``: a task's prompt (plus upstream context) in, tokens out."""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from mesh_contracts import (
    MAX_PROMPT_CHARS,
    AgentDescriptor,
    ErrorEvent,
    Skill,
    StreamingMode,
    TaskRequest,
    TokenEvent,
)
from mesh_contracts.capabilities import SUMMARIZATION, TEXT_GENERATION, TRANSLATION
from mesh_worker import Emit, InputError, Worker, report_usage
from mesh_worker_writer.adapters import UnknownAdapter
from mesh_worker_writer.engine import PromptTooLong, TextGenerator
from mesh_worker_writer.generation import GenerationParams
from mesh_worker_writer.json_constraint import UnsupportedSchema
from mesh_worker_writer.prompting import DEFAULT_SYSTEM, build_messages, json_instruction

DEFAULT_PORT = 8001


class WriterInput(BaseModel):
    """A writer task's ``input``. ``adapter`` names a LoRA folder under the adapters dir."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS, description="what to write")
    system: str | None = Field(
        default=None, max_length=MAX_PROMPT_CHARS, description="system prompt"
    )
    max_tokens: int | None = Field(
        default=None, ge=1, le=1024, description="most tokens to generate (default 256)"
    )
    temperature: float = Field(default=0.7, ge=0, le=2, description="0 means greedy")
    stop: list[str] | None = Field(default=None, max_length=4, description="stop strings")
    adapter: str | None = Field(default=None, max_length=128, description="LoRA adapter id")
    json_schema: dict[str, Any] | None = Field(
        default=None,
        description=(
            "answer with JSON fitting this JSON Schema (enforced while decoding; "
            '{"type": "object"} for any object); the output is then the parsed value'
        ),
    )


_SKILLS = [
    Skill(
        id="write",
        description="Write or rewrite text: answers, drafts, stories, marketing copy.",
        tags=["writing", "llm"],
        examples=["Write a haiku about distributed systems", "Draft a product announcement"],
    ),
    Skill(
        id="summarize",
        description="Summarize text given in the prompt or produced by earlier steps.",
        tags=["summary"],
        examples=["Summarize the findings in three bullet points", "TL;DR of this article"],
    ),
    Skill(
        id="translate",
        description="Translate short texts between common languages.",
        tags=["translation"],
        examples=["Translate 'good morning' into French"],
    ),
]


class WriterWorker(Worker[WriterInput]):
    """Streams one ``token`` event per decoded text piece and returns the whole text.

    Generation is serialized on the one model (see ``engine``); the descriptor admits
    ``max_concurrency`` requests, the rest are refused by the SDK with 429.
    """

    Input = WriterInput
    detect_gpu: ClassVar[bool] = True

    def __init__(self, engine: TextGenerator) -> None:
        self.engine = engine

    async def startup(self) -> None:
        if not self.engine.loaded:
            await asyncio.to_thread(self.engine.load)
        await self.engine.patterns.start()

    async def shutdown(self) -> None:
        await self.engine.patterns.close()
        self.engine.close()

    def describe(self) -> AgentDescriptor:
        return self.descriptor(
            agent_id="writer",
            name="Writer",
            description=(
                "A small local LLM (SmolLM2-135M-Instruct) that writes, summarizes and "
                "translates short texts, streaming tokens; optional LoRA adapters."
            ),
            capabilities=[TEXT_GENERATION, SUMMARIZATION, TRANSLATION],
            skills=_SKILLS,
            streaming_mode=StreamingMode.DYNAMIC_EVENTS,
            timeout_seconds=300.0,
            max_concurrency=self.engine.settings.max_concurrency,
            tags=["llm", "lora"],
            # Adapter ids are not listed here: the registry is read by every client, and an
            # adapter is its owner's (GET /v1/models lists the caller's own).
            metadata={"model": self.engine.model_id},
            max_prompt_chars=MAX_PROMPT_CHARS,
            # Upstream outputs are read from the task's context (see prompting.py), so the
            # orchestrator does not also paste them into the prompt.
            reads_context=True,
        )

    async def run(self, task: TaskRequest, inp: WriterInput, emit: Emit) -> Any:
        params = GenerationParams(
            max_new_tokens=min(
                inp.max_tokens or self.engine.settings.max_new_tokens,
                self.engine.settings.max_new_tokens_limit,
            ),
            temperature=inp.temperature,
            stop=tuple(inp.stop or ()),
            adapter=inp.adapter,
            json_schema=inp.json_schema,
            repetition_penalty=self.engine.settings.repetition_penalty,
        )
        system = inp.system
        if inp.json_schema is not None:
            system = f"{system or DEFAULT_SYSTEM}\n{json_instruction(inp.json_schema)}"
        try:
            self.engine.adapters.check_owner(inp.adapter, task.owner)  # the run owner's only
            if inp.json_schema is not None:
                await self.engine.check_schema(inp.json_schema)
            stream = self.engine.open(build_messages(inp.prompt, system, task.context), params)
        except (UnknownAdapter, PromptTooLong) as exc:
            raise InputError(str(exc)) from exc
        except UnsupportedSchema as exc:
            raise InputError(f"json_schema: the schema cannot be enforced: {exc}") from exc
        async with stream:
            async for delta in stream:
                await emit(TokenEvent(token=delta))
        outcome = stream.outcome
        assert outcome is not None
        # what it read and generated, and its GPU-seconds (generation time on a GPU)
        on_gpu = self.engine.device.startswith("cuda")
        report_usage(
            prompt_tokens=outcome.prompt_tokens,
            completion_tokens=outcome.completion_tokens,
            gpu_s=outcome.held_s if on_gpu else 0.0,
        )
        if inp.json_schema is None:
            return outcome.text
        try:
            return json.loads(outcome.text)
        except ValueError:
            # only an answer cut by max_tokens is incomplete JSON: say so, keep the text
            await emit(
                ErrorEvent(
                    error=f"the JSON answer was cut at max_tokens={params.max_new_tokens}",
                    code="truncated",
                )
            )
            return outcome.text

    def health(self) -> dict[str, Any]:
        return self.engine.health()
