"""The lazy A2A route (``api/a2a_route.py``): a request that arrives while the first one
is still importing the A2A server waits for that import on a thread; it never installs the
routes before the module is whole (which, for the real module, is an import on the event
loop that blocks it until the other thread's import ends)."""

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


async def test_concurrent_first_calls_to_a2a_agents_both_import_the_client_on_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for the a2a-sdk's client (``relay.calls._load_a2a_client``): a second call
    while the first is importing it waits on a thread, not by importing on the loop."""
    from mesh_orchestrator.relay import calls

    name = "slow_a2a_client_for_test"
    (tmp_path / f"{name}.py").write_text(
        "import threading\nGATE = threading.Event()\nGATE.wait(60)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(calls, "_A2A_CLIENT", name)
    monkeypatch.setattr(calls, "_loaded", set(), raising=False)
    imports: list[str] = []

    def import_module(module: str) -> Any:
        imports.append(module)
        return importlib.import_module(module)

    monkeypatch.setattr(calls, "importlib", SimpleNamespace(import_module=import_module))
    async with asyncio.timeout(30):
        first = asyncio.create_task(calls._load_a2a_client())
        while not hasattr(sys.modules.get(name), "GATE"):  # noqa: ASYNC110 (set by the import's thread)
            await asyncio.sleep(0.01)
        second = asyncio.create_task(calls._load_a2a_client())
        while len(imports) < 2 and not second.done():  # noqa: ASYNC110 (a thread's import, or the task)
            await asyncio.sleep(0.01)
        done_before_the_import = second.done()
        sys.modules[name].GATE.set()
        await asyncio.gather(first, second)
        await calls._load_a2a_client()  # loaded: no thread, no import
    monkeypatch.delitem(sys.modules, name, raising=False)
    assert not done_before_the_import
    assert imports == [name, name]
