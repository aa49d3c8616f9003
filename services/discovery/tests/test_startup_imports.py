"""Starting discovery does not import the MCP SDK: it loads when the first MCP server is
listed (``mcp.py``). Every process start paid ~0.5 s of CPU for it. Nor the a2a-sdk: it
loads with the first A2A agent's card fetched (``a2a.py``), ~0.3 s of CPU a start."""

from __future__ import annotations

import subprocess
import sys

LAZY = ("mcp", "mcp_types", "a2a.client", "a2a.types.a2a_pb2", "google.protobuf.json_format")


def test_starting_discovery_does_not_import_the_mcp_or_a2a_sdk() -> None:
    probe = (
        "import sys, mesh_discovery.__main__; "
        f"print(' '.join(m for m in {LAZY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == []
