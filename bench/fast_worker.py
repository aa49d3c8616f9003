"""A mesh worker that streams tokens as fast as it can: the load generator of the bench.

A real worker built on the worker SDK (registration, ``/stream``, cancellation on
disconnect), so what the bench measures through the orchestrator is the relay of a real
worker's stream. ``python -m bench.fast_worker`` serves it on ``WORKER_PORT`` (default 8090).

Input: ``tokens`` (how many token events), ``token`` (the text of each) and
``hold_seconds`` (pause after the first token; the memory measurement holds streams open
this way; the pause ends early when the caller goes away, which cancels ``run``). A task
that names no ``tokens`` gets ``BENCH_FAST_TOKENS`` of them (default 100): the run
throughput loads set it to their pinned plan's count, so a planned run relays as many.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from mesh_contracts import AgentDescriptor, StreamingMode, TaskRequest, TokenEvent
from mesh_worker import Emit, Worker, serve

AGENT_ID = "bench-fast"
DEFAULT_PORT = 8090
DEFAULT_TOKENS = int(os.environ.get("BENCH_FAST_TOKENS", "100"))


class FastInput(BaseModel):
    tokens: int = Field(default=DEFAULT_TOKENS, ge=0, le=10_000_000)
    token: str = Field(default="x", max_length=64)
    hold_seconds: float = Field(default=0.0, ge=0, le=3600)


class FastTokenWorker(Worker):
    """Emits ``tokens`` token events back to back, with no work in between."""

    Input: ClassVar[type[BaseModel]] = FastInput

    def describe(self) -> AgentDescriptor:
        return AgentDescriptor(
            agent_id=AGENT_ID,
            description="Benchmark worker: streams N tokens as fast as it can.",
            capabilities=["text_generation"],
            streaming_mode=StreamingMode.DYNAMIC_EVENTS,
            # The memory measurement holds ~1,000 streams open on this one instance.
            max_concurrency=4096,
            timeout_seconds=3600,
            tags=["bench"],
            endpoint="http://127.0.0.1:1",  # replaced by the SDK with this process's URL
        )

    async def run(self, task: TaskRequest, inp: BaseModel, emit: Emit) -> Any:
        assert isinstance(inp, FastInput)
        event = TokenEvent(token=inp.token)  # one immutable event, sent N times
        for i in range(inp.tokens):
            await emit(event)
            if i == 0 and inp.hold_seconds:
                await asyncio.sleep(inp.hold_seconds)
        return None


def main() -> None:
    serve(FastTokenWorker(), default_port=DEFAULT_PORT)


if __name__ == "__main__":
    main()
