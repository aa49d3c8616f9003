"""Discovery's first A2A cards (``a2a.fetch_card``) and MCP listings (``mcp._load_sdk``):
the a2a-sdk's card parser and the MCP SDK load on a thread, and a use that arrives while
another is still importing waits for that import on a thread too, never by importing on the
event loop (which blocks it until whole)."""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from mesh_discovery import a2a


async def test_a_fetch_arriving_mid_import_waits_for_the_sdk_on_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "slow_card_sdk_for_test"
    (tmp_path / f"{name}.py").write_text(
        "import threading\nGATE = threading.Event()\nGATE.wait(60)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(a2a, "_SDK", name)
    monkeypatch.setattr(a2a, "_loaded", set(), raising=False)
    imports: list[str] = []

    def import_module(module: str) -> Any:
        imports.append(module)
        return importlib.import_module(module)

    monkeypatch.setattr(a2a, "importlib", SimpleNamespace(import_module=import_module))
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"name": "x"}))

    async def fetch() -> Any:
        try:
            return await a2a.fetch_card(http, "http://agent/card", max_bytes=10_000)
        except a2a.CardError as exc:  # the card's content is not what is tested here
            return exc

    async with asyncio.timeout(30), httpx.AsyncClient(transport=transport) as http:
        first = asyncio.create_task(fetch())
        while not hasattr(sys.modules.get(name), "GATE"):  # noqa: ASYNC110 (set by the import's thread)
            await asyncio.sleep(0.01)
        second = asyncio.create_task(fetch())
        while len(imports) < 2 and not second.done():  # noqa: ASYNC110 (a thread's import, or the task)
            await asyncio.sleep(0.01)
        done_before_the_import = second.done()
        sys.modules[name].GATE.set()
        await asyncio.gather(first, second)
    monkeypatch.delitem(sys.modules, name, raising=False)
    assert not done_before_the_import
    assert imports == [name, name]


async def test_concurrent_first_mcp_listings_both_import_the_sdk_on_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for the MCP SDK (``mcp._load_sdk``, the first MCP servers listed); once
    loaded, no thread and no import."""
    from mesh_discovery import mcp

    name = "slow_mcp_sdk_for_test"
    (tmp_path / f"{name}.py").write_text(
        "import threading\nGATE = threading.Event()\nGATE.wait(60)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(mcp, "_SDK_MODULES", (name,))
    monkeypatch.setattr(mcp, "_loaded", set(), raising=False)
    imports: list[str] = []

    def import_module(module: str) -> Any:
        imports.append(module)
        return importlib.import_module(module)

    monkeypatch.setattr(mcp, "importlib", SimpleNamespace(import_module=import_module))
    async with asyncio.timeout(30):
        first = asyncio.create_task(mcp._load_sdk())
        while not hasattr(sys.modules.get(name), "GATE"):  # noqa: ASYNC110 (set by the import's thread)
            await asyncio.sleep(0.01)
        second = asyncio.create_task(mcp._load_sdk())
        while len(imports) < 2 and not second.done():  # noqa: ASYNC110 (a thread's import, or the task)
            await asyncio.sleep(0.01)
        done_before_the_import = second.done()
        sys.modules[name].GATE.set()
        await asyncio.gather(first, second)
        await mcp._load_sdk()  # loaded: no thread, no import
    monkeypatch.delitem(sys.modules, name, raising=False)
    assert not done_before_the_import
    assert imports == [name, name]
