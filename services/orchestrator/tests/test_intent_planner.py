"""The intent planner on requests worded unlike its training phrasings and the benchmark."""

from __future__ import annotations

from mesh_contracts import AgentDescriptor, CapabilitiesManifest, manifest_of
from mesh_orchestrator.planning.intent import IntentPlanner

PLANNER = IntentPlanner()


def _agent(agent_id: str, caps: list[str], props: dict[str, object]) -> AgentDescriptor:
    return AgentDescriptor(
        agent_id=agent_id,
        instance_id=agent_id,
        name=agent_id,
        endpoint="http://127.0.0.1:9",
        capabilities=caps,
        input_schema={"type": "object", "properties": props},
    )


def _manifest(*extra: AgentDescriptor) -> CapabilitiesManifest:
    text = {"prompt": {"type": "string"}}
    return manifest_of(
        [
            _agent("writer", ["text_generation", "summarization", "translation"], text),
            _agent("lookup", ["search"], {"query": {"type": "string"}}),
            _agent("analyst", ["data_analysis"], {"data": {"type": "string"}, "question": {}}),
            _agent("painter", ["image_generation"], text),
            *extra,
        ],
        index=1,
    )


def _shape(query: str, manifest: CapabilitiesManifest | None = None) -> list[tuple[str, list[str]]]:
    plan = PLANNER.plan_sync(query, manifest or _manifest())
    ids = {t.task_id: str(i + 1) for i, t in enumerate(plan.tasks)}
    return [(t.capability, [ids[d] for d in t.depends_on]) for t in plan.tasks]


def test_a_french_lookup_then_an_explanation_of_it_is_a_chain() -> None:
    shape = _shape("Renseigne-toi sur les marées d'équinoxe puis explique-les à ma nièce.")
    assert shape[0] == ("search", [])
    assert shape[1][0] in ("text_generation", "summarization") and shape[1][1] == ["1"]


def test_a_dutch_request_with_three_jobs_keeps_all_three() -> None:
    shape = _shape(
        "Teken een zeilboot, zoek op wie de eerste marathon liep en schrijf een limerick."
    )
    assert sorted(c for c, _ in shape) == ["image_generation", "search", "text_generation"]


def test_a_negated_job_constrains_instead_of_running() -> None:
    shape = _shape("Compose a lullaby about owls. Please don't search the web for it.")
    assert shape == [("text_generation", [])]


def test_a_table_stays_with_the_question_about_it_and_its_words_start_no_job() -> None:
    plan = PLANNER.plan_sync(
        "Which shop looks off?\nshop,sales,note\nnorth,10,draw attention\nsouth,90,translate later",
        _manifest(),
    )
    assert [t.capability for t in plan.tasks] == ["data_analysis"]
    assert "south,90" in plan.tasks[0].input["data"]


def test_a_pasted_note_only_asks_for_a_reply() -> None:
    shape = _shape(
        'Reply briefly to this, in a friendly way: "Could you look up the venue and draw a '
        'map for the guests? And translate the menu into Italian."'
    )
    assert shape == [("text_generation", [])]


def test_languages_in_a_list_fan_out_one_task_each() -> None:
    shape = _shape('Traduce "cerrado los domingos" al inglés, al neerlandés y al polaco.')
    assert shape == [("translation", [])] * 3


def test_lines_of_a_list_are_separate_jobs() -> None:
    shape = _shape("Tonight:\n- an illustration of a paper boat\n- a riddle for kids\n")
    assert sorted(c for c, _ in shape) == ["image_generation", "text_generation"]


def test_the_parts_no_agent_serves_are_named_and_left_out() -> None:
    draft = PLANNER.draft_sync(
        "Write a haiku about tea and then buy me some green tea", _manifest()
    )
    assert [t.capability for t in draft.plan.tasks] == ["text_generation"]
    assert any("buy me some green tea" in p for p in draft.unresolvable)


def test_an_agents_own_capability_is_matched_on_its_words() -> None:
    weather = AgentDescriptor(
        agent_id="meteo",
        instance_id="meteo",
        name="meteo",
        description="Weather forecasts: tomorrow's temperature and rain for a city.",
        endpoint="http://127.0.0.1:9",
        capabilities=["weather_forecast"],
        input_schema={"type": "object", "properties": {"city": {"type": "string"}}},
    )
    shape = _shape("weather forecast for Lyon tomorrow", _manifest(weather))
    assert shape == [("weather_forecast", [])]


def test_a_request_of_ten_thousand_lines_plans_without_a_task_per_line() -> None:
    rows = "\n".join(f"{i},{i % 7}" for i in range(10_000))
    plan = PLANNER.plan_sync(f"Any outliers here?\nid,value\n{rows}", _manifest())
    assert [t.capability for t in plan.tasks] == ["data_analysis"]


def test_a_lookup_beside_a_table_stays_a_lookup() -> None:
    shape = _shape("Find out who founded Oslo. Analyze this:\nyear,visitors\n2021,10\n2022,12\n")
    assert sorted(c for c, _ in shape) == ["data_analysis", "search"]
