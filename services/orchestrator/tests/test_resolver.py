"""The resolver against fake registry data: capability, pin, hardware, health, breakers,
priority and load."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from mesh_contracts import AgentDescriptor, AgentRecord, ExecutionPlan, InstanceLoad, SubTask
from mesh_orchestrator.routing.breakers import BreakerState
from mesh_orchestrator.routing.resolver import Resolver as _Resolver


def records(pool: list[AgentDescriptor]) -> list[AgentRecord]:
    now = time.time()
    return [AgentRecord(descriptor=d, registered_at=now, last_heartbeat=now) for d in pool]


def Resolver(source: Callable[[], list[AgentDescriptor]], **kw: Any) -> _Resolver:
    """The resolver over passing records of ``source``'s descriptors."""
    return _Resolver(lambda: records(source()), **kw)


def agent(instance: str, **kw: Any) -> AgentDescriptor:
    kw.setdefault("agent_id", "writer")
    kw.setdefault("capabilities", ["text_generation"])
    return AgentDescriptor(
        instance_id=instance,
        endpoint=f"http://127.0.0.1:1/{instance}",
        streaming_mode="dynamic_events",
        **kw,
    )


def task(**kw: Any) -> SubTask:
    return SubTask(task_id="t1", capability=kw.pop("capability", "text_generation"), **kw)


def test_higher_priority_wins_then_the_least_loaded_replica() -> None:
    pool = [agent("a", priority=1), agent("b", priority=1), agent("c")]
    r = Resolver(lambda: pool)
    assert r.pick(task()).instance_id == "a"  # type: ignore[union-attr]
    r.acquire("a")
    assert r.pick(task()).instance_id == "b"  # type: ignore[union-attr]
    r.acquire("b")
    r.acquire("b")
    assert r.pick(task()).instance_id == "a"  # type: ignore[union-attr]
    r.release("a")
    r.release("a")
    assert r.inflight["a"] == 0
    assert r.pick(task(), exclude={"a", "b"}).instance_id == "c"  # type: ignore[union-attr]


def test_load_is_relative_to_max_concurrency() -> None:
    r = Resolver(lambda: [agent("small", max_concurrency=1), agent("big", max_concurrency=10)])
    r.acquire("big")
    assert r.pick(task()).instance_id == "small"  # type: ignore[union-attr]
    r.acquire("small")
    assert r.pick(task()).instance_id == "big"  # type: ignore[union-attr]


def test_gpu_requirements_filter_instances() -> None:
    pool = [
        agent("cpu", capabilities=["image_generation"]),
        agent("small", capabilities=["image_generation"], resources={"gpu": True, "vram_mb": 8000}),
        agent(
            "large", capabilities=["image_generation"], resources={"gpu": True, "vram_mb": 80000}
        ),
    ]
    r = Resolver(lambda: pool)
    gpu = task(capability="image_generation", requires={"gpu": True})
    assert {d.instance_id for d in r.candidates(gpu)} == {"small", "large"}
    big = task(capability="image_generation", requires={"min_vram_mb": 40000})
    assert [d.instance_id for d in r.candidates(big)] == ["large"]
    huge = task(capability="image_generation", requires={"min_vram_mb": 200000})
    assert "200000 MB" in r.why_not(huge)


def test_a_pinned_agent_id_overrides_capability_matching() -> None:
    r = Resolver(lambda: [agent("w"), agent("o", agent_id="other")])
    assert r.pick(task(agent_id="other")).instance_id == "o"  # type: ignore[union-attr]


def test_unresolvable_tasks_are_named_with_a_reason() -> None:
    r = Resolver(lambda: [agent("w")])
    plan = ExecutionPlan(
        tasks=[
            SubTask(task_id="ok", capability="text_generation"),
            SubTask(task_id="img", capability="image_generation"),
        ]
    )
    missing = r.unresolvable(plan)
    assert list(missing) == ["img"]
    assert "image_generation" in missing["img"] and "text_generation" in missing["img"]


def test_consecutive_failures_eject_an_instance_until_one_trial_succeeds() -> None:
    pool = [agent("a", priority=1), agent("b")]
    r = Resolver(lambda: pool, fail_max=3, base_ejection_seconds=0.05)
    for _ in range(2):
        r.failed("a", "answered 500")
    assert r.pick(task()).instance_id == "a"  # type: ignore[union-attr]  # 2 of 3: still in
    r.succeeded("a")  # a success resets the count
    for _ in range(3):
        r.failed("a", "answered 500")
    assert r.breaker("a").state is BreakerState.OPEN
    assert r.pick(task()).instance_id == "b"  # type: ignore[union-attr]  # skipped, lease or not
    time.sleep(0.06)
    assert r.pick(task()).instance_id == "a"  # type: ignore[union-attr]  # time up: one trial
    r.acquire("a")  # the trial goes out...
    assert r.breaker("a").state is BreakerState.HALF_OPEN
    assert r.pick(task()).instance_id == "b"  # type: ignore[union-attr]  # ...and only one
    r.release("a")
    r.succeeded("a")
    assert r.breaker("a").state is BreakerState.CLOSED


def test_a_failed_trial_ejects_again_for_longer() -> None:
    r = Resolver(lambda: [agent("a")], fail_max=1, base_ejection_seconds=0.05)
    r.failed("a", "refused")
    assert r.breaker("a").breaker.timeout_duration.total_seconds() == 0.05
    time.sleep(0.06)
    r.acquire("a")
    r.failed("a", "refused again")
    b = r.breaker("a")
    assert b.state is BreakerState.OPEN and b.ejections == 2
    assert b.breaker.timeout_duration.total_seconds() == 0.1
    assert r.pick(task()) is None
    assert "ejected by its circuit breaker" in r.why_not(task())
    snap = b.snapshot()
    assert snap["state"] == "open" and snap["last_failure"] == "refused again"


def test_reported_load_steers_the_choice_between_two_replicas() -> None:
    now = time.time()
    busy = AgentRecord(
        descriptor=agent("busy", max_concurrency=4),
        registered_at=now,
        last_heartbeat=now,
        load=InstanceLoad(slots_in_use=3, queue_depth=1),
    )
    idle = AgentRecord(
        descriptor=agent("idle", max_concurrency=4), registered_at=now, last_heartbeat=now
    )
    r = _Resolver(lambda: [busy, idle])
    assert r.pick(task()).instance_id == "idle"  # type: ignore[union-attr]
    assert r.load(busy) == 1.0


def test_power_of_two_choices_spreads_picks_over_many_equal_replicas() -> None:
    pool = [agent(f"w{i}") for i in range(6)]
    r = Resolver(lambda: pool, rng=random.Random(1))
    picks = {r.pick(task()).instance_id for _ in range(60)}  # type: ignore[union-attr]
    assert len(picks) >= 4  # not always the lowest id, as a plain sort would do


def test_critical_instances_are_never_candidates() -> None:
    now = time.time()
    down = AgentRecord(
        descriptor=agent("down"), registered_at=now, last_heartbeat=now, status="critical"
    )
    r = _Resolver(lambda: [down])
    assert r.pick(task()) is None and "no healthy agent" in r.why_not(task())
