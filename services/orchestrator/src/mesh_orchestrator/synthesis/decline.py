"""The honest answer to a request no agent serves: what nobody here does, and what the mesh can.

Used by the graph's ``decline`` node (a run whose every part is unservable completes with this
answer instead of failing with no plan) and by ``POST /v1/plans``; ``left_out_note`` ends the
answer of a run that served part of its request, naming the part no agent serves.
"""

from __future__ import annotations

from mesh_contracts import CapabilitiesManifest

MAX_PARTS = 5


def capabilities_offered(manifest: CapabilitiesManifest) -> list[str]:
    """``capability (agent, ...)`` for every capability a healthy agent serves."""
    out = []
    for c in manifest.capabilities:
        agents = [a.agent_id for a in c.agents if a.healthy_instances]
        if agents:
            out.append(f"{c.name.replace('_', ' ')} ({', '.join(sorted(set(agents)))})")
    return out


def decline_answer(unservable: list[str], manifest: CapabilitiesManifest) -> str:
    parts = [p for p in unservable if p][:MAX_PARTS]
    head = (
        "No agent in this mesh can do this: " + "; ".join(parts) + "."
        if parts
        else "No agent in this mesh can do this."
    )
    offered = capabilities_offered(manifest)
    tail = (
        " What the mesh can do: " + ", ".join(offered) + "."
        if offered
        else " No agent is registered right now."
    )
    return head + tail


def left_out_note(unservable: list[str]) -> str:
    """The line that ends a partly-served run's answer: what was left out, and why ("" when
    nothing was)."""
    parts = [p for p in unservable if p][:MAX_PARTS]
    if not parts:
        return ""
    return "\n\nLeft out, no agent in this mesh can do it: " + "; ".join(parts) + "."
