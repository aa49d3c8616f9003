"""Streamed LLM synthesis, driven by langchain's fake streaming chat model."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from pydantic import Field

from mesh_contracts import ExecutionPlan, SubTask
from mesh_orchestrator.conversation import Conversation, Turn
from mesh_orchestrator.synthesis.llm import (
    LLMSynthesizer,
    SynthesisInterrupted,
    SynthesisUnavailable,
    build_messages,
    stream_synthesis,
)

RESULTS = {
    "t1": {"status": "completed", "output": "Discovery keeps a registry.", "agent_id": "lookup"},
    "t2": {"status": "failed", "error": "writer timed out after 60s"},
}


async def test_tokens_are_streamed_as_they_are_generated() -> None:
    llm = GenericFakeChatModel(
        messages=iter([AIMessage("The registry works; the summary failed.")])
    )
    seen: list[str] = []

    async def on_token(tok: str) -> None:
        seen.append(tok)

    answer = await stream_synthesis(llm, "explain", RESULTS, on_token)
    assert len(seen) > 3  # the fake model splits on spaces: several chunks, not one
    assert "".join(seen).strip() == answer == "The registry works; the summary failed."


def test_failed_sub_task_is_put_in_front_of_the_model() -> None:
    prompt = str(build_messages("explain", RESULTS)[1].content)
    assert "[t2]: FAILED: writer timed out after 60s" in prompt
    assert "Discovery keeps a registry." in prompt


class _Broken(GenericFakeChatModel):
    fail_after: int = 0

    async def _astream(self, *args: Any, **kwargs: Any) -> Any:
        n = 0
        async for chunk in super()._astream(*args, **kwargs):
            if n >= self.fail_after:
                raise ConnectionError("stream reset")
            n += 1
            yield chunk


async def _noop(_: str) -> None:
    return None


async def test_llm_down_before_the_first_token_is_unavailable() -> None:
    llm = _Broken(messages=iter([AIMessage("a b c")]), fail_after=0)
    with pytest.raises(SynthesisUnavailable, match="stream reset"):
        await stream_synthesis(llm, "q", RESULTS, _noop)


async def test_llm_failing_midway_keeps_the_partial_answer() -> None:
    llm = _Broken(messages=iter([AIMessage("one two three four")]), fail_after=3)
    with pytest.raises(SynthesisInterrupted) as info:
        await stream_synthesis(llm, "q", RESULTS, _noop)
    assert info.value.partial == "one two"


async def test_empty_answer_counts_as_unavailable() -> None:
    llm = GenericFakeChatModel(messages=iter([AIMessage("")]))
    with pytest.raises(SynthesisUnavailable):
        await stream_synthesis(llm, "q", RESULTS, _noop)


class _Recording(GenericFakeChatModel):
    """A fake chat model (unit tests only) that keeps the messages it was sent."""

    seen: list[Any] = Field(default_factory=list)

    async def _astream(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
        self.seen.append(messages)
        async for chunk in super()._astream(messages, *args, **kwargs):
            yield chunk


async def test_the_synthesis_of_a_run_on_a_thread_is_shown_the_conversation() -> None:
    llm = _Recording(messages=iter([AIMessage("Es regnet."), AIMessage("ok")]))
    synth = LLMSynthesizer(llm)
    plan = ExecutionPlan(tasks=[SubTask(task_id="t1", capability="translation")])
    results = {"t1": {"status": "completed", "output": "Es regnet."}}
    talk = Conversation(turns=[Turn(query="write about rain", answer="It rains.")])
    await synth.synthesize("now in German", plan, results, _noop, talk)
    await synth.synthesize("now in German", plan, results, _noop)
    with_talk, without = (str(m[-1].content) for m in llm.seen)
    assert with_talk.startswith(
        "Conversation so far:\nUser: write about rain\nAssistant: It rains."
    )
    assert "Request: now in German" in with_talk
    assert "Conversation so far" not in without
