"""An A2A agent for the end-to-end tests, written with the a2a-sdk alone (no mesh code) and
run as its own process (``python -m a2a_asker`` from this folder) on ``A2A_PORT``;
``/health`` for the test harness.

A new task asks its user "Which city?" (``TASK_STATE_INPUT_REQUIRED``) and waits. A
message continuing that task (its ``taskId``) completes it with the artifact
``forecast for <answer> (task <id>, asked <n> times)``: the task id the answer arrived
on, and how many tasks this process asked on so far (a client that answered with a new
message instead would be asked again). A task that is cancelled appends its id to
``A2A_CANCEL_FILE``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import uvicorn
from a2a.helpers.proto_helpers import new_task_from_user_message, new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import AgentCapabilities, AgentCard, AgentInterface, AgentSkill, Part, Role
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class Asker(AgentExecutor):
    def __init__(self) -> None:
        self.asked = 0

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.message is not None
        if context.current_task is None:  # a new task: ask, and wait for the answer
            task = new_task_from_user_message(context.message)
            await event_queue.enqueue_event(task)
            self.asked += 1
            updater = TaskUpdater(event_queue, task.id, task.context_id)
            await updater.requires_input(
                new_text_message("Which city?", context_id=task.context_id, task_id=task.id,
                                 role=Role.ROLE_AGENT)
            )  # fmt: skip
            return
        task = context.current_task
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.start_work(new_text_message("looking it up", role=Role.ROLE_AGENT))
        answer = context.get_user_input()
        text = f"forecast for {answer} (task {task.id}, asked {self.asked} times)"
        await updater.add_artifact([Part(text=text)], artifact_id="forecast", last_chunk=True)
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.task_id and context.context_id
        cancel_file = os.environ.get("A2A_CANCEL_FILE")
        if cancel_file:
            await asyncio.to_thread(_append, Path(cancel_file), context.task_id + "\n")
        await TaskUpdater(event_queue, context.task_id, context.context_id).cancel()


def _append(path: Path, line: str) -> None:
    with path.open("a") as f:
        f.write(line)


async def health(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def app(port: int) -> Starlette:
    card = AgentCard(
        name="Forecaster",
        description="Asks which city, then forecasts its weather.",
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(
                url=f"http://127.0.0.1:{port}/", protocol_binding="JSONRPC", protocol_version="1.0"
            )
        ],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="forecast", name="Forecast", description="f", tags=["forecast"])],
    )
    handler = DefaultRequestHandler(
        agent_executor=Asker(), task_store=InMemoryTaskStore(), agent_card=card
    )
    return Starlette(
        routes=[
            Route("/health", health),
            *create_agent_card_routes(card),
            *create_jsonrpc_routes(handler, "/"),
        ]
    )


if __name__ == "__main__":
    port = int(os.environ["A2A_PORT"])
    uvicorn.run(app(port), host="127.0.0.1", port=port, log_level="warning")
