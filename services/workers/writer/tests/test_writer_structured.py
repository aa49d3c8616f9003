"""Structured output on the real writer process (the session's ``writer`` fixture): JSON
enforced while decoding, through the official ``openai`` client and the worker's own API,
and the orchestrator's LLM planner getting a plan it can judge on its merits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import openai
import pytest
from httpx_sse import aconnect_sse
from openai.types.chat import ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONSchema

from mesh_testkit import ServiceProcess
from mesh_worker_writer.settings import DEFAULT_MODEL_ID

MOOD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "mood": {"type": "string", "enum": ["happy", "sad"]},
        "reason": {"type": "string"},
    },
    "required": ["mood", "reason"],
}
MOOD_FORMAT: ResponseFormatJSONSchema = {
    "type": "json_schema",
    "json_schema": {"name": "Mood", "schema": MOOD_SCHEMA},
}
ASK: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "How do you feel about sunny days?"}
]


@pytest.fixture
def client(writer: ServiceProcess) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{writer.url}/v1", api_key="x", max_retries=0) as c:
        yield c


def test_a_json_schema_answer_parses_and_fits_the_schema(client: openai.OpenAI) -> None:
    done = client.chat.completions.create(
        model=DEFAULT_MODEL_ID,
        messages=ASK,
        max_tokens=48,
        temperature=0,
        response_format=MOOD_FORMAT,
    )
    choice = done.choices[0]
    assert choice.finish_reason == "stop"  # ended by the complete object, not by max_tokens
    assert choice.message.content is not None
    jsonschema.validate(json.loads(choice.message.content), MOOD_SCHEMA)


def test_a_streamed_json_schema_answer_parses_and_fits_the_schema(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model=DEFAULT_MODEL_ID,
            messages=ASK,
            max_tokens=48,
            temperature=0.7,  # sampled: the constraint holds whatever is drawn
            response_format=MOOD_FORMAT,
            stream=True,
        )
    )
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta]
    assert sum(1 for p in pieces if p) >= 3  # streamed piece by piece, not in one go
    assert chunks[-1].choices[0].finish_reason == "stop"
    jsonschema.validate(json.loads("".join(p or "" for p in pieces)), MOOD_SCHEMA)


def test_json_object_mode_answers_a_json_object(client: openai.OpenAI) -> None:
    done = client.chat.completions.create(
        model=DEFAULT_MODEL_ID,
        messages=[
            {"role": "user", "content": 'Return a JSON object with the key "ok" set to true.'}
        ],
        max_tokens=32,
        temperature=0,
        response_format={"type": "json_object"},
    )
    content = done.choices[0].message.content or ""
    assert done.choices[0].finish_reason == "stop", content
    assert isinstance(json.loads(content), dict)


def test_an_answer_cut_by_max_tokens_ends_with_finish_reason_length(
    client: openai.OpenAI,
) -> None:
    done = client.chat.completions.create(
        model=DEFAULT_MODEL_ID,
        messages=ASK,
        max_tokens=4,
        temperature=0,
        response_format=MOOD_FORMAT,
    )
    assert done.choices[0].finish_reason == "length"
    assert (done.choices[0].message.content or "").lstrip().startswith("{")


@pytest.mark.parametrize(
    ("response_format", "param"),
    [
        (
            {"type": "json_schema", "json_schema": {"name": "X", "schema": {"type": "nope"}}},
            "response_format",
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "X", "schema": {"$ref": "#/$defs/A"}}},
            "response_format",
        ),
        ({"type": "json_schema", "json_schema": {"name": "X", "schema": 3}}, None),
        ({"type": "json_schema"}, "response_format.json_schema"),
    ],
)
def test_a_schema_that_cannot_be_enforced_is_an_openai_400(
    client: openai.OpenAI, response_format: dict[str, Any], param: str | None
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(  # type: ignore[call-overload]  # deliberately bad
            model=DEFAULT_MODEL_ID,
            messages=ASK,
            max_tokens=4,
            response_format=response_format,
        )
    error = caught.value.body
    assert isinstance(error, dict)
    assert error["param"].startswith(param or "response_format.json_schema.schema")
    assert "response_format" in error["message"]


def test_the_worker_api_returns_the_parsed_value_for_an_input_json_schema(
    writer: ServiceProcess,
) -> None:
    body = {
        "input": {
            "prompt": "How do you feel about sunny days?",
            "max_tokens": 48,
            "temperature": 0,
            "json_schema": MOOD_SCHEMA,
        }
    }
    r = httpx.post(f"{writer.url}/invoke", json=body, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"
    jsonschema.validate(r.json()["output"], MOOD_SCHEMA)


async def test_the_worker_stream_refuses_a_schema_it_cannot_enforce(
    writer: ServiceProcess,
) -> None:
    body = {"input": {"prompt": "hi", "json_schema": {"type": "nope"}}}
    async with (
        httpx.AsyncClient(timeout=30) as http,
        aconnect_sse(http, "POST", f"{writer.url}/stream", json=body) as source,
    ):
        events = [m.json() async for m in source.aiter_sse()]
    assert [e["type"] for e in events] == ["error", "done"]
    assert events[0]["code"] == "invalid_input" and "json_schema" in events[0]["error"]


async def test_the_llm_planner_gets_a_plan_it_judges_on_its_merits(
    writer: ServiceProcess,
) -> None:
    """With the schema enforced, the small model's answer is always a well-formed plan
    object: the planner accepts it or refuses it for what it says (an unknown dependency,
    an input that does not fit), never for prose or broken JSON."""
    pytest.importorskip("mesh_orchestrator")
    from mesh_contracts import (
        CapabilitiesManifest,
        ManifestAgent,
        ManifestCapability,
        StreamingMode,
    )
    from mesh_orchestrator.llm import build_chat_model
    from mesh_orchestrator.planning.llm import LLMPlanner, PlanRejected
    from mesh_orchestrator.settings import Settings

    def agent(agent_id: str, field: str) -> ManifestAgent:
        schema = {"type": "object", "properties": {field: {"type": "string"}}, "required": [field]}
        return ManifestAgent(
            agent_id=agent_id,
            description=f"the {agent_id}",
            streaming_mode=StreamingMode.STATIC,
            healthy_instances=1,
            input_schema=schema,
        )

    manifest = CapabilitiesManifest(
        index=1,
        capabilities=[
            ManifestCapability(name="search", agents=[agent("lookup", "query")]),
            ManifestCapability(name="summarization", agents=[agent("writer", "prompt")]),
        ],
    )
    # greedy (the orchestrator samples at 0.2): the same answer every run
    settings = Settings(llm_base_url=f"{writer.url}/v1", llm_temperature=0)
    llm = build_chat_model(settings, max_tokens=400)
    planner = LLMPlanner(llm, timeout_seconds=240)
    try:
        plan = await planner.plan(
            "Find facts about service discovery, then summarize them.", manifest
        )
    except PlanRejected as exc:
        for formless in ("prose", "no JSON", "malformed", "unreachable", "not a JSON"):
            assert formless not in exc.reason, exc.reason
    else:
        assert {t.capability for t in plan.tasks} <= {"search", "summarization"}
    finally:
        # langchain caches a default HTTP client per base URL (this writer's): close it here
        await llm.root_async_client.close()  # type: ignore[attr-defined]
