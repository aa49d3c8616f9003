"""Which instance runs a sub-task: capability (or pinned agent), hardware, priority, load.

The executor reports in-flight calls through ``acquire``/``release`` so that replicas of one
agent share the work: among equally preferred instances the least loaded (relative to its
``max_concurrency``) wins. Ties break on ``instance_id`` so choices are deterministic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection

from mesh_contracts import AgentDescriptor, ExecutionPlan, SubTask


class Resolver:
    """Picks healthy instances from a live source of descriptors (the discovery cache)."""

    def __init__(self, source: Callable[[], list[AgentDescriptor]]) -> None:
        self._source = source
        self.inflight: dict[str, int] = defaultdict(int)

    def acquire(self, instance_id: str) -> None:
        self.inflight[instance_id] += 1

    def release(self, instance_id: str) -> None:
        self.inflight[instance_id] = max(0, self.inflight[instance_id] - 1)

    def candidates(self, task: SubTask) -> list[AgentDescriptor]:
        """Every healthy instance able to run ``task``, best first."""
        out = [d for d in self._source() if serves(d, task) and fits(d, task)]
        return sorted(out, key=self._rank)

    def pick(self, task: SubTask, exclude: Collection[str] = ()) -> AgentDescriptor | None:
        """The best instance not in ``exclude`` (instance ids), or None."""
        for d in self.candidates(task):
            if d.instance_id not in exclude:
                return d
        return None

    def _rank(self, d: AgentDescriptor) -> tuple[int, float, str]:
        load = self.inflight.get(d.instance_id, 0) / d.max_concurrency
        return (-d.priority, load, d.instance_id)

    def why_not(self, task: SubTask) -> str:
        """A plain-words reason why ``task`` has no candidate (for the error event)."""
        available = self._source()
        what = f"agent {task.agent_id!r}" if task.agent_id else f"capability {task.capability!r}"
        serving = [d for d in available if serves(d, task)]
        if not serving:
            caps = sorted({c for d in available for c in d.capabilities})
            return (
                f"no healthy agent serves {what} "
                f"(available capabilities: {', '.join(caps) or 'none'})"
            )
        need = "a GPU" if task.requires.gpu else ""
        if task.requires.min_vram_mb:
            need = f"a GPU with at least {task.requires.min_vram_mb} MB of VRAM"
        return f"no healthy instance serving {what} has {need or 'the required resources'}"

    def unresolvable(self, plan: ExecutionPlan) -> dict[str, str]:
        """task_id -> reason, for every task no healthy instance can run right now."""
        return {t.task_id: self.why_not(t) for t in plan.tasks if not self.candidates(t)}

    def available_capabilities(self) -> set[str]:
        return {c for d in self._source() for c in d.capabilities}


def serves(d: AgentDescriptor, task: SubTask) -> bool:
    if task.agent_id is not None:
        return d.agent_id == task.agent_id
    return task.capability in d.capabilities


def fits(d: AgentDescriptor, task: SubTask) -> bool:
    req = task.requires
    if (req.gpu or req.min_vram_mb) and not d.resources.gpu:
        return False
    return not (req.min_vram_mb and (d.resources.vram_mb or 0) < req.min_vram_mb)
