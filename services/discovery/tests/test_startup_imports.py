"""Starting discovery does not import the MCP SDK: it loads when the first MCP server is
listed (``mcp.py``). Every process start paid ~0.5 s of CPU for it."""

from __future__ import annotations

import subprocess
import sys

LAZY = ("mcp", "mcp_types")


def test_starting_discovery_does_not_import_the_mcp_sdk() -> None:
    probe = (
        "import sys, mesh_discovery.__main__; "
        f"print(' '.join(m for m in {LAZY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == []
