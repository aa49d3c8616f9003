"""Validation of descriptors, plans and events: bad input is refused, naming what is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mesh_contracts import (
    MAX_DEPENDS_ON,
    MAX_PLAN_TASKS,
    AgentDescriptor,
    ArtifactEvent,
    ExecutionPlan,
    MessageEvent,
    StreamingMode,
    TokenEvent,
    parse_worker_event,
)


def _desc(**kw: Any) -> AgentDescriptor:
    base: dict[str, Any] = {
        "agent_id": "writer",
        "endpoint": "http://127.0.0.1:8001",
        "capabilities": ["text_generation"],
        "streaming_mode": "dynamic_events",
    }
    return AgentDescriptor.model_validate({**base, **kw})


def test_descriptor_defaults_instance_id_and_name_to_agent_id() -> None:
    d = _desc()
    assert (d.instance_id, d.name, d.url("/stream")) == (
        "writer",
        "writer",
        "http://127.0.0.1:8001/stream",
    )


@pytest.mark.parametrize("endpoint", ["ftp://x", "localhost:8001", "http://", "http://a b"])
def test_descriptor_endpoint_must_be_an_http_url(endpoint: str) -> None:
    with pytest.raises(ValidationError, match="endpoint"):
        _desc(endpoint=endpoint)


@pytest.mark.parametrize("cap", ["Text", "text-generation", "1abc", ""])
def test_capability_names_are_lowercase_identifiers(cap: str) -> None:
    with pytest.raises(ValidationError, match="lowercase identifier"):
        _desc(capabilities=[cap])


def test_static_agent_needs_a_static_response_or_an_invoke_endpoint() -> None:
    with pytest.raises(ValidationError, match="static_response"):
        AgentDescriptor(
            agent_id="faq", capabilities=["search"], streaming_mode=StreamingMode.STATIC
        )
    declared = AgentDescriptor(agent_id="faq", capabilities=["search"], static_response={"a": 1})
    assert not declared.has_process


def test_streaming_agent_needs_an_endpoint() -> None:
    with pytest.raises(ValidationError, match="needs an endpoint"):
        _desc(endpoint=None)


def test_unknown_descriptor_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="gpu_cores"):
        _desc(gpu_cores=3)


def _plan(*tasks: dict[str, Any]) -> ExecutionPlan:
    return ExecutionPlan.model_validate({"tasks": list(tasks)})


def _t(task_id: str, *deps: str) -> dict[str, Any]:
    return {"task_id": task_id, "capability": "search", "depends_on": list(deps)}


def test_plan_rejects_duplicates_unknown_deps_and_self_loops_naming_ids() -> None:
    with pytest.raises(ValidationError, match="duplicate task_id 'a'"):
        _plan(_t("a"), _t("a"))
    with pytest.raises(ValidationError, match="'b' depends on unknown task 'zz'"):
        _plan(_t("a"), _t("b", "zz"))
    with pytest.raises(ValidationError, match="'a' depends on itself"):
        _plan(_t("a", "a"))


def test_plan_rejects_a_cycle_naming_its_path() -> None:
    with pytest.raises(ValidationError, match="cycle: b -> d -> c -> b"):
        _plan(_t("a"), _t("b", "a", "d"), _t("c", "b"), _t("d", "c"))


def test_plan_rejects_a_dependency_named_twice() -> None:
    with pytest.raises(ValidationError, match="'b' depends on 'a' twice"):
        _plan(_t("a"), _t("b", "a", "a"))


def test_plan_bounds_its_tasks_and_each_tasks_dependencies() -> None:
    ids = [f"t{i}" for i in range(MAX_PLAN_TASKS)]
    _plan(*(_t(i) for i in ids[:-1]), _t(ids[-1], *ids[:-1]))  # the most a plan may hold
    with pytest.raises(ValidationError, match="at most 64 items"):
        _plan(*(_t(i) for i in ids), _t("one-more"))
    # 8,000 entries naming known tasks: refused by its length, before any graph is walked
    with pytest.raises(ValidationError, match=f"at most {MAX_DEPENDS_ON} items"):
        _plan(_t("a"), _t("b", *["a"] * 8000))


def test_plan_finds_the_cycle_at_the_end_of_the_longest_chain() -> None:
    chain = [_t("t0", f"t{MAX_PLAN_TASKS - 1}")]
    chain += [_t(f"t{i}", f"t{i - 1}") for i in range(1, MAX_PLAN_TASKS)]
    with pytest.raises(ValidationError, match=r"cycle: t0 -> t63 -> t62 -> .* -> t1 -> t0"):
        _plan(*chain)


def test_plan_dependents_and_topological_order() -> None:
    plan = _plan(_t("a"), _t("b", "a"), _t("c"), _t("d", "b", "c"))
    assert plan.dependents("a") == ["b", "d"]
    assert plan.dependents("d") == []
    order = plan.topological_order()
    assert order.index("a") < order.index("b") < order.index("d")
    assert order.index("c") < order.index("d")


def test_plan_is_plain_json_round_trip() -> None:
    plan = _plan(_t("a"), _t("b", "a"))
    assert ExecutionPlan.model_validate_json(plan.model_dump_json()) == plan


def test_empty_plan_is_refused() -> None:
    with pytest.raises(ValidationError, match="tasks"):
        ExecutionPlan.model_validate({"tasks": []})


def test_worker_events_are_a_union_on_type() -> None:
    assert isinstance(parse_worker_event({"type": "token", "token": "a"}), TokenEvent)
    msg = parse_worker_event({"role": "assistant", "content": "hi"})
    assert isinstance(msg, MessageEvent) and msg.content == "hi"
    with pytest.raises(ValidationError):
        parse_worker_event({"type": "telepathy"})
    with pytest.raises(ValidationError):
        parse_worker_event({"type": "token"})


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "file:///etc/passwd",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "data:image/svg+xml;base64,PHN2Zy8+",
        "data:image/png,not-base64",
        "vbscript:msgbox",
        "//evil.example/x.png",
        "http://w/a.png\x1b]8;;http://evil\x07",
    ],
)
def test_an_artifact_url_that_is_not_a_web_link_or_inline_png_jpeg_is_malformed(
    url: str,
) -> None:
    with pytest.raises(ValidationError, match="artifact URL"):
        parse_worker_event({"type": "artifact", "name": "a", "url": url})


@pytest.mark.parametrize(
    "url",
    [
        "http://writer:8001/artifacts/a.zip",
        "https://cdn.example/x.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "data:image/jpeg;base64,/9j/4AAQ",
    ],
)
def test_web_links_and_inline_png_jpeg_are_artifact_urls(url: str) -> None:
    event = parse_worker_event({"type": "artifact", "name": "a", "url": url})
    assert isinstance(event, ArtifactEvent) and event.url == url


def test_the_capability_vocabulary_covers_exactly_the_well_known_capabilities() -> None:
    from mesh_contracts.capabilities import VOCABULARY, WELL_KNOWN

    assert set(VOCABULARY) == WELL_KNOWN
    for vocabulary in VOCABULARY.values():
        assert vocabulary.words.split() and vocabulary.phrases


def test_output_text_renders_strings_passages_known_keys_and_the_rest_as_json() -> None:
    from mesh_contracts import output_text

    assert output_text("  hi  ") == "hi"
    hits = {"results": [{"title": "A", "passage": "one"}, {"source": "b.md", "passage": "two"}]}
    assert output_text(hits) == "A: one\n\nb.md: two"
    assert output_text({"shape": [3, 2], "conclusion": "Rome is warmest."}) == "Rome is warmest."
    assert output_text({"results": []}) == '{"results": []}'
    assert output_text([1, "é"]) == '[1, "é"]'
