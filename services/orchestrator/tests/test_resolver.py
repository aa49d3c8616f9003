"""The resolver against fake registry data: capability, pin, hardware, priority, load."""

from __future__ import annotations

from typing import Any

from mesh_contracts import AgentDescriptor, ExecutionPlan, SubTask
from mesh_orchestrator.routing.resolver import Resolver


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
    pool = [agent("a"), agent("b"), agent("c", priority=-1)]
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
