"""What the orchestrator imports on a thread with its first use (the A2A server with the
first A2A request, ``api/a2a_route.py``; the a2a-sdk's client with the first call to an A2A
agent; LangGraph's errors with the first approval): a second use while the first is still
importing waits for that import on a thread too. Never by importing on the event loop: the
module is in ``sys.modules`` from the import's start, half run, and importing it there
blocks the loop until the other thread's import ends."""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from mesh_contracts.a2a import AGENT_CARD_PATH
from mesh_orchestrator.api import a2a_route
from mesh_orchestrator.api.a2a_route import LazyA2A, mount_a2a

SLOW = "slow_a2a_server_for_test"


async def test_a_request_arriving_mid_import_waits_for_the_import_on_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A server module whose import holds until the test opens its gate.
    (tmp_path / f"{SLOW}.py").write_text(
        "import threading\nGATE = threading.Event()\nGATE.wait(60)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, SLOW, raising=False)
    monkeypatch.setattr(a2a_route, "_SERVER_MODULE", SLOW)
    imports: list[str] = []

    def import_module(name: str) -> Any:
        imports.append(name)
        return importlib.import_module(name)

    monkeypatch.setattr(a2a_route, "importlib", SimpleNamespace(import_module=import_module))
    whole_at_install: list[bool] = []

    def install(self: LazyA2A) -> None:  # the swap, with a stand-in card route
        routes = self._app.router.routes
        if self in routes:
            whole_at_install.append(sys.modules[SLOW].GATE.is_set())

            async def card(request: Request) -> PlainTextResponse:
                return PlainTextResponse("card")

            routes[routes.index(self)] = Route(AGENT_CARD_PATH, card)

    monkeypatch.setattr(LazyA2A, "install", install)
    app = FastAPI()
    mount_a2a(app, bearer=False, mtls=False)
    transport = httpx.ASGITransport(app=app)
    async with (
        asyncio.timeout(30),
        httpx.AsyncClient(transport=transport, base_url="http://t") as c,
    ):
        first = asyncio.create_task(c.get(AGENT_CARD_PATH))
        while not hasattr(sys.modules.get(SLOW), "GATE"):  # noqa: ASYNC110 (set by the import's thread)
            await asyncio.sleep(0.01)
        second = asyncio.create_task(c.get(AGENT_CARD_PATH))
        # The second either imports on a thread too (waiting there for the first's import)
        # or, as before, finds the module in sys.modules and installs at once.
        while len(imports) < 2 and not second.done():  # noqa: ASYNC110 (a thread's import, or the task)
            await asyncio.sleep(0.01)
        sys.modules[SLOW].GATE.set()
        answers = await asyncio.gather(first, second)
    monkeypatch.delitem(sys.modules, SLOW, raising=False)
    assert [(r.status_code, r.text) for r in answers] == [(200, "card")] * 2
    assert whole_at_install == [True]
    assert imports == [SLOW, SLOW]


@pytest.mark.parametrize(
    ("module", "constant", "load"),
    [
        ("mesh_orchestrator.relay.calls", "_A2A_CLIENT", "_load_a2a_client"),  # A2A agents
        ("mesh_orchestrator.graph.nodes", "_ERRORS", "_load_errors"),  # approvals
        ("mesh_orchestrator.relay.mcp_client", "_SDK_MODULES", "_load_sdk"),  # MCP servers
    ],
)
async def test_concurrent_first_loads_both_import_on_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, constant: str, load: str
) -> None:
    """The same for the a2a-sdk's client (the first calls to A2A agents), LangGraph's
    errors (the first approvals) and the MCP SDK (the first calls to MCP servers): a second load while the first is importing waits on a
    thread, not by importing on the event loop; once loaded, no thread, no import."""
    owner = importlib.import_module(module)
    name = f"slow_{load}_for_test"
    (tmp_path / f"{name}.py").write_text(
        "import threading\nGATE = threading.Event()\nGATE.wait(60)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    # a module's name, or the SDK's modules in order (MCP): here the one stand-in
    monkeypatch.setattr(
        owner, constant, (name,) if isinstance(getattr(owner, constant), tuple) else name
    )
    monkeypatch.setattr(owner, "_loaded", set(), raising=False)
    imports: list[str] = []

    def import_module(module: str) -> Any:
        imports.append(module)
        return importlib.import_module(module)

    monkeypatch.setattr(owner, "importlib", SimpleNamespace(import_module=import_module))
    loader = getattr(owner, load)
    async with asyncio.timeout(30):
        first = asyncio.create_task(loader())
        while not hasattr(sys.modules.get(name), "GATE"):  # noqa: ASYNC110 (set by the import's thread)
            await asyncio.sleep(0.01)
        second = asyncio.create_task(loader())
        while len(imports) < 2 and not second.done():  # noqa: ASYNC110 (a thread's import, or the task)
            await asyncio.sleep(0.01)
        done_before_the_import = second.done()
        sys.modules[name].GATE.set()
        await asyncio.gather(first, second)
        await loader()  # loaded: no thread, no import
    monkeypatch.delitem(sys.modules, name, raising=False)
    assert not done_before_the_import
    assert imports == [name, name]
