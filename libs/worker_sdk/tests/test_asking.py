"""The SDK's ``Asker``: a question ends the first call with an ``input_required`` event (no
error); a call carrying the answers gets them back in order and goes on."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from mesh_contracts import AgentDescriptor, ErrorEvent, InputRequiredEvent, ResultEvent, TaskRequest
from mesh_worker import Asker, Emit, Worker
from mesh_worker.execution import collect_result, stream_events


class Empty(BaseModel):
    pass


class Poet(Worker[Empty]):
    Input = Empty

    def describe(self) -> AgentDescriptor:
        return self.descriptor(agent_id="poet", capabilities=["text_generation"])

    async def run(self, task: TaskRequest, inp: Empty, emit: Emit) -> Any:
        ctx = Asker(task, emit)
        style = await ctx.ask("Which style?", choices=["haiku", "limerick"])
        topic = await ctx.ask("About what?", schema={"type": "string", "maxLength": 40})
        return f"a {style} about {topic}"


async def events(context: dict[str, Any]) -> list[Any]:
    ends: list[str] = []
    task = TaskRequest(task_id="t", context=context)
    out = [e async for e in stream_events(Poet(), task, Empty(), on_end=ends.append)]
    return [*out, ends]


async def test_the_first_call_asks_and_ends_without_an_error() -> None:
    *out, ends = await events({})
    assert out == [InputRequiredEvent(question="Which style?", choices=["haiku", "limerick"])]
    assert ends == ["input_required"]


async def test_each_call_with_more_answers_asks_the_next_question_then_answers() -> None:
    *out, _ = await events({"@input": {"answers": ["haiku"]}})
    assert out == [InputRequiredEvent(question="About what?", answer_schema={"type": "string",
                                                                             "maxLength": 40})]  # fmt: skip
    *out, ends = await events({"@input": {"answers": ["haiku", "the sea"]}})
    [result] = out  # the answer, with the SDK's own usage (its wall time)
    assert isinstance(result, ResultEvent) and result.output == "a haiku about the sea"
    assert result.usage is not None and result.usage.completion_tokens is None
    assert ends == ["completed"]
    assert not any(isinstance(e, ErrorEvent) for e in out)


async def test_invoke_answers_a_question_as_an_input_required_result_then_goes_on() -> None:
    """The non-streaming path (``/invoke`` collects the run): the question is the answer,
    status ``input_required``, no error; the call with the answers completes."""
    first = await collect_result(Poet(), TaskRequest(task_id="t"), Empty(), agent_id="poet")
    assert first.status == "input_required" and first.error is None and first.output is None
    assert first.input_required == InputRequiredEvent(
        question="Which style?", choices=["haiku", "limerick"]
    )
    task = TaskRequest(task_id="t", context={"@input": {"answers": ["haiku", "the sea"]}})
    done = await collect_result(Poet(), task, Empty(), agent_id="poet")
    assert (done.status, done.output, done.input_required) == (
        "completed", "a haiku about the sea", None
    )  # fmt: skip
