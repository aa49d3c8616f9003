"""Starting the orchestrator imports only what every orchestrator uses: the MCP SDK loads
with the first MCP request or MCP worker call (``api/mcp_route.py``,
``relay/mcp_client.py``) and psycopg where Postgres is configured. Every process start
(each end-to-end test starts several) paid ~0.5-0.8 s of CPU for the SDK alone."""

from __future__ import annotations

import subprocess
import sys

LAZY = ("mcp", "mcp_types", "psycopg", "psycopg_pool")


def test_starting_the_orchestrator_does_not_import_the_mcp_sdk_or_psycopg() -> None:
    probe = (
        "import sys, mesh_orchestrator.__main__; "
        f"print(' '.join(m for m in {LAZY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == []
