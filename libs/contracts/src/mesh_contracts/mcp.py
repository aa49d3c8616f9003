"""The mesh's vocabulary for MCP servers that work as agents, as plain JSON.

Discovery registers an MCP server by URL (``POST /v1/agents/mcp``) and stores one
descriptor for it: ``metadata.protocol = "mcp"`` (``mesh_contracts.a2a.PROTOCOL_KEY``),
the streamable-HTTP URL (``MCP_URL``) and its tools (``MCP_TOOLS``: each tool's name, the
capabilities it serves and its input schema). The orchestrator calls such an agent with
MCP ``tools/call``, never with the worker API and never with the mesh's token. Only that
route sets these keys (``reserved_keys``).

Pure data: no MCP SDK.
"""

from __future__ import annotations

from typing import Any

from mesh_contracts.descriptor import AgentDescriptor

MCP = "mcp"
MCP_URL = "mcp_url"  # the server's streamable-HTTP endpoint
MCP_TOOLS = "mcp_tools"  # [{"name", "capabilities": [...], "input_schema": {...}}]
_PROTOCOL_KEY = "protocol"  # mesh_contracts.a2a.PROTOCOL_KEY


def speaks_mcp(d: AgentDescriptor) -> bool:
    """True for an MCP server registered by discovery (called with MCP ``tools/call``)."""
    return d.metadata.get(_PROTOCOL_KEY) == MCP


def tool_for(d: AgentDescriptor, capability: str) -> dict[str, Any] | None:
    """The tool of MCP agent ``d`` that serves ``capability`` (the first listed), if any."""
    for tool in d.metadata.get(MCP_TOOLS) or []:
        if isinstance(tool, dict) and capability in (tool.get("capabilities") or []):
            return tool
    return None


def reserved_keys(metadata: dict[str, Any]) -> list[str]:
    """The keys of ``metadata`` only discovery's A2A and MCP registrations may set:
    ``protocol``, ``a2a_*`` and ``mcp_*``."""
    return sorted(k for k in metadata if k == _PROTOCOL_KEY or k.startswith(("a2a_", "mcp_")))
