"""Starting the orchestrator imports only what every orchestrator uses: the MCP SDK loads
with the first MCP request or MCP worker call (``api/mcp_route.py``,
``relay/mcp_client.py``) and psycopg where Postgres is configured. Every process start
(each end-to-end test starts several) paid ~0.5-0.8 s of CPU for the SDK alone.

Likewise the a2a-sdk loads with the first A2A request (its server: ``api/a2a_route.py``)
or the first call to an A2A agent (its client: ``relay/calls.py``), langchain-core (and
langsmith under it) with a configured LLM, LangGraph's graph with the diagram and its
errors with an approval's interrupt, jsonschema with the first schema checked: together ~1.5-2 s of CPU and ~35 MB of RSS at every
start (bench/README.md, "Orchestrator start")."""

from __future__ import annotations

import subprocess
import sys

import pytest

LAZY = ("mcp", "mcp_types", "psycopg", "psycopg_pool")
# Imported by the heavy packages' own first modules: any of them in sys.modules means the
# package came back into the start.
HEAVY = (
    "a2a.client",
    "a2a.server",
    "a2a.compat.v0_3.types",
    "a2a.types.a2a_pb2",
    "langchain_core.language_models",
    "langchain_core.messages",
    "langchain_core.runnables",
    "langchain_openai",
    "langsmith",
    "langgraph.graph",
    "langgraph.errors",
    "langgraph.types",
    "jsonschema",
)


def _imported_by(statement: str, names: tuple[str, ...]) -> list[str]:
    probe = f"import sys; {statement}; print(' '.join(m for m in {names!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return out.stdout.split()


def test_starting_the_orchestrator_does_not_import_the_mcp_sdk_or_psycopg() -> None:
    assert _imported_by("import mesh_orchestrator.__main__", LAZY) == []


def test_starting_the_orchestrator_does_not_import_a2a_langchain_or_langgraphs_graph() -> None:
    assert _imported_by("import mesh_orchestrator.__main__", HEAVY) == []


def test_building_the_app_without_an_llm_does_not_import_them_either() -> None:
    build = (
        "from mesh_orchestrator.app import create_app; "
        "from mesh_orchestrator.settings import Settings; "
        "create_app(Settings(), keys=None)"
    )
    assert _imported_by(build, HEAVY) == []


@pytest.mark.parametrize("module", ["a2a.server", "langsmith", "langgraph.graph"])
def test_the_probe_sees_a_heavy_import_when_one_happens(module: str) -> None:
    """The check above can fail: a module that imports one of them is seen."""
    assert _imported_by(f"import {module}", HEAVY) != []
