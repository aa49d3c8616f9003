"""Which instance runs a sub-task: capability (or pinned agent), hardware, health, priority, load.

Only passing instances whose circuit breaker admits a call are candidates (``breakers``:
an instance that keeps failing is ejected before its lease lapses). Among the candidates of
the highest priority, the choice is by load with the power of two choices (Ray Serve's
router does the same): two instances are drawn at random and the less loaded one wins, so
several orchestrators (each seeing the others' work only through the workers' reports)
spread their calls instead of piling onto the one that looks idlest. Load is the larger of
what the instance last reported with its heartbeat (slots in use and queue depth, over its
``max_concurrency``) and this process's own calls in flight to it. With two candidates the
less loaded always wins; ties break on ``instance_id``.

The executor reports every call's start and end (``acquire``/``release``) and how it went
(``succeeded``/``failed``), which drives the breakers.

A run asks three times which instances serve its task (the graph's check that every task can
run, ``unresolvable``; the executor's ``pick``; the routing status event's ``explain``), each
a pass over the whole registry until round 17. Which records serve a task and fit its
hardware depends on the records alone, which the source replaces whole when the registry
changes (``DiscoveryClient.records``, as its ``manifest`` relies on): the resolver keeps that
answer per kind of task for the records it was read from (``_routes``), so the registry is
read once per kind of task and state of the registry, not three times a run. What changes
from call to call (each breaker's state, each instance's load) is read live, every time.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Collection
from typing import Any

from mesh_contracts import AgentDescriptor, AgentRecord, ExecutionPlan, SubTask
from mesh_orchestrator.routing.breakers import InstanceBreaker

# Kinds of task (``_route_key``) remembered for one state of the registry; past that many,
# the memo starts over (a client's plans may name any capability).
MEMO_KINDS = 256
# A record serving a task, with whether it passes its health check and fits the task's
# hardware: what ``_routes`` remembers.
_Route = tuple[AgentRecord, bool, bool]


class Resolver:
    """Picks instances from a live source of records (the discovery cache)."""

    def __init__(
        self,
        source: Callable[[], list[AgentRecord]],
        *,
        fail_max: int = 3,
        base_ejection_seconds: float = 5.0,
        max_ejection_seconds: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        self._source = source
        self.inflight: dict[str, int] = defaultdict(int)
        self.breakers: dict[str, InstanceBreaker] = {}
        self._fail_max = fail_max
        self._ejection = (base_ejection_seconds, max_ejection_seconds)
        self._rng = rng or random.Random()
        # The records ``_routes`` was read from (held, so compared by identity), and per
        # kind of task, the routes among them.
        self._seen: list[AgentRecord] | None = None
        self._routes_of: dict[tuple[str | None, str | None, bool, int | None], list[_Route]] = {}
        self.scans = 0  # passes over the registry (``_routes``' misses), for tests

    def _healthy(self) -> list[AgentRecord]:
        return [r for r in self._source() if r.healthy]

    def breaker(self, instance_id: str) -> InstanceBreaker:
        b = self.breakers.get(instance_id)
        if b is None:
            base, most = self._ejection
            b = InstanceBreaker(
                instance_id, fail_max=self._fail_max, base_ejection=base, max_ejection=most
            )
            self.breakers[instance_id] = b
        return b

    def acquire(self, instance_id: str) -> None:
        self.inflight[instance_id] += 1
        self.breaker(instance_id).begin()

    def release(self, instance_id: str) -> None:
        self.inflight[instance_id] = max(0, self.inflight[instance_id] - 1)

    def succeeded(self, instance_id: str) -> None:
        self.breaker(instance_id).succeeded()

    def failed(self, instance_id: str, reason: str) -> None:
        self.breaker(instance_id).failed(reason)

    def load(self, record: AgentRecord) -> float:
        """How busy the instance is, 0 = idle, 1 = every slot taken (may exceed 1)."""
        d = record.descriptor
        own = self.inflight.get(d.instance_id, 0)
        reported = 0.0
        if record.load is not None:
            reported = record.load.slots_in_use + record.load.queue_depth
        return max(own, reported) / d.max_concurrency

    def instance(self, instance_id: str) -> AgentDescriptor | None:
        """The registered instance ``instance_id`` (healthy or not), or None."""
        for r in self._source():
            if r.descriptor.instance_id == instance_id:
                return r.descriptor
        return None

    def agent(self, agent_id: str) -> AgentDescriptor | None:
        """Any registered instance of ``agent_id`` (for what the agent declares), or None."""
        for r in self._source():
            if r.descriptor.agent_id == agent_id:
                return r.descriptor
        return None

    def candidates(self, task: SubTask) -> list[AgentDescriptor]:
        """Every instance able to run ``task`` now, best first (priority, then load)."""
        return [r.descriptor for r in self._ranked(task)]

    def _routes(self, task: SubTask) -> list[_Route]:
        """The records serving ``task``, in the source's order, each with whether it is
        healthy and fits the task: one pass over the registry per kind of task, until the
        source hands out another list (a new state of the registry)."""
        records = self._source()
        if records is not self._seen:
            self._seen, self._routes_of = records, {}
        req = task.requires
        key = (
            task.agent_id,
            task.capability if task.agent_id is None else None,
            req.gpu,
            req.min_vram_mb,
        )
        routes = self._routes_of.get(key)
        if routes is None:
            if len(self._routes_of) >= MEMO_KINDS:
                self._routes_of = {}
            self.scans += 1
            routes = self._routes_of[key] = [
                (r, r.healthy, fits(r.descriptor, task))
                for r in records
                if serves(r.descriptor, task)
            ]
        return routes

    def _ranked(self, task: SubTask, exclude: Collection[str] = ()) -> list[AgentRecord]:
        out = [
            r
            for r, healthy, fit in self._routes(task)
            if healthy
            and fit
            and r.descriptor.instance_id not in exclude
            and self.breaker(r.descriptor.instance_id).available()
        ]
        return sorted(out, key=self._rank)

    def pick(self, task: SubTask, exclude: Collection[str] = ()) -> AgentDescriptor | None:
        """The instance to call, not in ``exclude`` (instance ids), or None."""
        ranked = self._ranked(task, exclude)
        if not ranked:
            return None
        top = [r for r in ranked if r.descriptor.priority == ranked[0].descriptor.priority]
        if len(top) <= 2:
            return top[0].descriptor
        a, b = self._rng.sample(top, 2)
        return min((a, b), key=self._rank).descriptor

    def _rank(self, r: AgentRecord) -> tuple[int, float, str]:
        d = r.descriptor
        return (-d.priority, self.load(r), d.instance_id)

    def explain(self, task: SubTask) -> list[dict[str, Any]]:
        """Every instance serving the task's capability with why it is or is not a
        candidate: for the routing status event and the trace."""
        out = []
        for r, healthy, fit in self._routes(task):
            d = r.descriptor
            b = self.breaker(d.instance_id)
            out.append(
                {
                    "instance_id": d.instance_id,
                    "healthy": healthy,
                    "fits": fit,
                    "priority": d.priority,
                    "load": round(self.load(r), 3),
                    "breaker": b.state.value,
                    "admits": b.available(),  # the breaker lets a call through now
                }
            )
        return out

    def why_not(self, task: SubTask) -> str:
        """A plain-words reason why ``task`` has no candidate (for the error event)."""
        available = [r.descriptor for r in self._healthy()]
        what = f"agent {task.agent_id!r}" if task.agent_id else f"capability {task.capability!r}"
        serving = [d for d in available if serves(d, task)]
        if not serving:
            caps = sorted({c for d in available for c in d.capabilities})
            return (
                f"no healthy agent serves {what} "
                f"(available capabilities: {', '.join(caps) or 'none'})"
            )
        fitting = [d for d in serving if fits(d, task)]
        if fitting:
            ejected = ", ".join(d.instance_id for d in fitting)
            return f"every instance serving {what} is ejected by its circuit breaker ({ejected})"
        need = "a GPU" if task.requires.gpu else ""
        if task.requires.min_vram_mb:
            need = f"a GPU with at least {task.requires.min_vram_mb} MB of VRAM"
        return f"no healthy instance serving {what} has {need or 'the required resources'}"

    def unresolvable(self, plan: ExecutionPlan) -> dict[str, str]:
        """task_id -> reason, for every task no healthy instance can run right now."""
        return {t.task_id: self.why_not(t) for t in plan.tasks if not self._runnable(t)}

    def _runnable(self, task: SubTask) -> bool:
        """Whether ``candidates(task)`` is not empty: the first instance found is enough (no
        list of them, no ranking by load)."""
        return any(
            healthy and fit and self.breaker(r.descriptor.instance_id).available()
            for r, healthy, fit in self._routes(task)
        )

    def available_capabilities(self) -> set[str]:
        return {c for r in self._healthy() for c in r.descriptor.capabilities}


def serves(d: AgentDescriptor, task: SubTask) -> bool:
    if task.agent_id is not None:
        return d.agent_id == task.agent_id
    return task.capability in d.capabilities


def fits(d: AgentDescriptor, task: SubTask) -> bool:
    req = task.requires
    if (req.gpu or req.min_vram_mb) and not d.resources.gpu:
        return False
    return not (req.min_vram_mb and (d.resources.vram_mb or 0) < req.min_vram_mb)
