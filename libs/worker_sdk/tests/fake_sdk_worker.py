"""``python -m fake_sdk_worker``: a tiny worker served by ``mesh_worker.serve``.

Started by test_worker_registration.py (cwd = this folder) to check the process
lifecycle: serve, register, and on SIGTERM run the lifespan's shutdown (it writes the
file named by FAKE_SHUTDOWN_MARKER, then deregisters).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mesh_contracts import AgentDescriptor, StreamingMode, TaskRequest, TokenEvent
from mesh_worker import Emit, Worker, serve


class FakeEchoInput(BaseModel):
    text: str


class FakeEchoWorker(Worker[FakeEchoInput]):
    Input = FakeEchoInput

    def describe(self) -> AgentDescriptor:
        return self.descriptor(
            agent_id="fake-echo",
            capabilities=["text_generation"],
            streaming_mode=StreamingMode.DYNAMIC_EVENTS,
        )

    async def run(self, task: TaskRequest, inp: FakeEchoInput, emit: Emit) -> Any:
        await emit(TokenEvent(token=inp.text))

    async def shutdown(self) -> None:
        marker = Path(os.environ["FAKE_SHUTDOWN_MARKER"])
        await asyncio.to_thread(marker.write_text, "shut down")


if __name__ == "__main__":
    serve(FakeEchoWorker(), default_port=8099)
