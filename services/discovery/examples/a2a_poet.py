"""A tiny A2A agent written with the a2a-sdk alone (no mesh code), to try
``POST /v1/agents/a2a`` with: ``python services/discovery/examples/a2a_poet.py 9400``.

It streams a three-word poem as artifact chunks of one task.
"""

from __future__ import annotations

import sys

import uvicorn
from a2a.helpers.proto_helpers import new_task_from_user_message, new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    Part,
    Role,
)
from starlette.applications import Starlette

POEM = ["Roses", " are", " red"]


class Poet(AgentExecutor):
    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.message is not None
        task = context.current_task or new_task_from_user_message(context.message)
        await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.start_work(new_text_message("thinking", role=Role.ROLE_AGENT))
        for i, word in enumerate(POEM):
            await updater.add_artifact(
                [Part(text=word)], artifact_id="poem", append=i > 0, last_chunk=i == len(POEM) - 1
            )
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.task_id and context.context_id
        await TaskUpdater(event_queue, context.task_id, context.context_id).cancel()


def app(port: int) -> Starlette:
    card = AgentCard(
        name="Poet",
        description="Writes short poems.",
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(
                url=f"http://127.0.0.1:{port}/", protocol_binding="JSONRPC", protocol_version="1.0"
            )
        ],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[
            AgentSkill(id="poems", name="Poems", description="poems", tags=["text_generation"])
        ],
    )
    handler = DefaultRequestHandler(
        agent_executor=Poet(), task_store=InMemoryTaskStore(), agent_card=card
    )
    return Starlette(routes=[*create_agent_card_routes(card), *create_jsonrpc_routes(handler, "/")])


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9400
    uvicorn.run(app(port), host="127.0.0.1", port=port, log_level="warning")
