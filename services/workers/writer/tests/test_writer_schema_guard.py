"""A JSON Schema never freezes the writer: its shape is bounded, its patterns are checked
and compiled in a child process under a time budget, and handed to the enforcer compiled.

The unit tests drive ``schema_guard`` and a real ``PatternCompiler`` (a real child process);
the last test attacks the real writer process (the session's ``writer`` fixture): the
pattern that took 44 s to compile, as a pattern and as a property, through
``response_format`` and a task's ``json_schema``, answered 4xx while another answer keeps
streaming (its chunks are timed and must arrive while the attacks are answered; no duration
is asserted)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse

from mesh_testkit import ServiceProcess
from mesh_worker_writer.json_constraint import parser_for
from mesh_worker_writer.patterns import PatternCompiler, _cache
from mesh_worker_writer.schema_guard import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_PATTERN_CHARS,
    SchemaRefused,
    patterns_in,
)
from mesh_worker_writer.settings import DEFAULT_MODEL_ID

BOMB = "^[ab]*a[ab]{14}$"  # 44 s as a property before (DFA states double per repeat)


def as_property(pattern: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"code": {"type": "string", "pattern": pattern}},
        "required": ["code"],
    }


def test_a_schemas_patterns_are_found_wherever_they_are_and_data_is_not_one() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "pattern": "^x+$"},
            "pattern": {"type": "string", "enum": [{"pattern": "(a+)+"}]},  # a name and data
            "b": {"type": "array", "items": {"anyOf": [{"type": "string", "pattern": "y{2}"}]}},
        },
        "$defs": {"c": {"type": "string", "pattern": "^x+$"}},
    }
    assert patterns_in(schema) == ["x+", "y{2}"]  # without anchors, as the enforcer keys them


def test_a_schema_too_deep_too_large_or_with_a_long_pattern_is_refused() -> None:
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(MAX_DEPTH):
        deep = {"type": "array", "items": deep}
    with pytest.raises(SchemaRefused, match=f"deeper than {MAX_DEPTH}"):
        patterns_in(deep)
    wide = {"type": "object", "properties": {f"p{i}": {} for i in range(MAX_NODES)}}
    with pytest.raises(SchemaRefused, match=f"more than {MAX_NODES}"):
        patterns_in(wide)
    with pytest.raises(SchemaRefused, match=f"at most {MAX_PATTERN_CHARS}"):
        patterns_in({"type": "string", "pattern": "a" * (MAX_PATTERN_CHARS + 1)})


@pytest.fixture
async def compiler() -> AsyncIterator[PatternCompiler]:
    c = PatternCompiler(budget=0.5)
    await c.start()
    yield c
    await c.close()


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("(a+)+", "unbounded quantifier in another"),
        (r"(\w+\s?)*", "unbounded quantifier in another"),
        ("a{300}", "more than 256 times"),
        ("(a{20}){20}", "more than 256 times"),  # nested counts multiply
        ("((", "not a regular expression"),
    ],
)
async def test_a_pattern_past_a_bound_is_refused_by_the_child(
    compiler: PatternCompiler, pattern: str, why: str
) -> None:
    with pytest.raises(SchemaRefused, match=why):
        await compiler.prepare([pattern])
    assert compiler.killed == 0  # refused by its checks, not by the clock


async def test_a_pattern_past_the_budget_is_refused_remembered_and_its_child_replaced(
    compiler: PatternCompiler,
) -> None:
    with pytest.raises(SchemaRefused, match=r"longer than 0\.5s to compile"):
        await compiler.prepare(patterns_in(as_property(BOMB)))
    assert compiler.killed == 1
    with pytest.raises(SchemaRefused, match=r"longer than 0\.5s"):  # again: refused at once
        await compiler.prepare(patterns_in(as_property(BOMB)))
    assert compiler.killed == 1
    await compiler.prepare([r"(\d{1,3}\.){3}\d{1,3}"])  # a new child compiles the next one
    assert r"(\d{1,3}\.){3}\d{1,3}" in _cache()


async def test_a_compiled_pattern_is_the_one_the_enforcer_uses(
    compiler: PatternCompiler,
) -> None:
    schema = {"type": "string", "pattern": "^[0-9a-f]{8}$"}
    await compiler.prepare(patterns_in(schema))
    compiled = _cache()["[0-9a-f]{8}"]
    parser = parser_for(schema)
    for ch in '"0a':
        parser = parser.add_character(ch)
    assert set(parser.get_allowed_characters()) == set("0123456789abcdef")
    assert _cache()["[0-9a-f]{8}"] is compiled  # not compiled again


# ---- the real writer under attack ------------------------------------------------------------


async def test_freezing_schemas_get_a_prompt_4xx_while_another_answer_keeps_streaming(
    writer: ServiceProcess,
) -> None:
    url = writer.url
    arrivals: list[float] = []
    windows: list[tuple[float, float]] = []
    answers: list[tuple[str, int, dict[str, Any]]] = []
    long_answer = {
        "model": DEFAULT_MODEL_ID,
        "messages": [{"role": "user", "content": "Tell a long story about the sea."}],
        "max_tokens": 400,
        "temperature": 0,
        "stream": True,
    }

    async def follow(c: httpx.AsyncClient) -> None:
        async with aconnect_sse(c, "POST", f"{url}/v1/chat/completions", json=long_answer) as s:
            async for _ in s.aiter_sse():
                arrivals.append(time.monotonic())

    def chat(schema: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
        return "/v1/chat/completions", {**long_answer, "stream": False, "response_format": fmt}

    def invoke(schema: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "/invoke", {"input": {"prompt": "a code", "json_schema": schema}}

    attacks = [
        chat({"type": "string", "pattern": BOMB}),
        chat(as_property(BOMB)),
        invoke(as_property(BOMB)),
        invoke({"type": "string", "pattern": "^[ab]*a[ab]{13}$"}),  # new: compiled, killed
        chat(as_property("(x+)+y")),
    ]
    during = 0
    async with httpx.AsyncClient(timeout=60) as c:
        stream = asyncio.create_task(follow(c))
        try:
            async with asyncio.timeout(120):
                while len(arrivals) < 3:  # noqa: ASYNC110 - the stream task's list
                    await asyncio.sleep(0.01)
                for path, body in attacks:
                    began = time.monotonic()
                    r = await c.post(url + path, json=body)
                    windows.append((began, time.monotonic()))
                    answers.append((path, r.status_code, r.json()))
                during = sum(1 for t in arrivals if any(a <= t <= b for a, b in windows))
        finally:
            stream.cancel()
    for path, status, answer in answers:
        text = json.dumps(answer)
        if path == "/invoke":
            assert status == 422 and "json_schema" in text, (path, status, text[:300])
        else:
            assert status == 400 and answer["error"]["code"] == "invalid_json_schema", text
        assert len(text) < 2000
    assert during >= 1, "the other answer got no chunk while the schemas were refused"
