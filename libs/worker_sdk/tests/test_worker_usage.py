"""A call's usage in its final event, over a real uvicorn server: the SDK measures the run's
wall time, the worker adds what it reported with ``report_usage`` (from ``run`` and from a
thread ``run_in_thread`` started), on ``/stream``'s ``result`` and ``/invoke``'s answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ConfigDict

from mesh_contracts import AgentDescriptor, SSEDecoder, StreamingMode, TaskRequest, TokenEvent
from mesh_worker import (
    Emit,
    ThreadEmit,
    Worker,
    WorkerSettings,
    create_worker_app,
    report_usage,
    run_in_thread,
)
from mesh_worker.testing import serving


class CostInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    words: list[str] = ["a", "b", "c"]
    report: bool = True
    negative: bool = False


class CostlyWorker(Worker[CostInput]):
    """Streams one token per word and reports them: prompt tokens from ``run``, completion
    tokens and GPU-seconds from its thread, in two parts that add up."""

    Input = CostInput

    def describe(self) -> AgentDescriptor:
        return self.descriptor(
            agent_id="costly",
            capabilities=["text_generation"],
            streaming_mode=StreamingMode.DYNAMIC_EVENTS,
        )

    async def run(self, task: TaskRequest, inp: CostInput, emit: Emit) -> Any:
        for word in inp.words:
            await emit(TokenEvent(token=word))
        if not inp.report:
            return " ".join(inp.words)
        if inp.negative:
            report_usage(completion_tokens=-1)
        report_usage(prompt_tokens=7)

        def job(post: ThreadEmit, cancel: threading.Event) -> str:
            report_usage(completion_tokens=len(inp.words) - 1, gpu_s=0.25)
            report_usage(completion_tokens=1, gpu_s=0.5)
            return " ".join(inp.words)

        return await run_in_thread(job, emit)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    app = create_worker_app(CostlyWorker(), WorkerSettings(discovery_url=""))
    with serving(app) as base:
        yield base


def _stream(url: str, **inp: Any) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    frames: list[dict[str, Any]] = []
    with httpx.stream("POST", url + "/stream", json={"input": inp}, timeout=10) as resp:
        for chunk in resp.iter_bytes():
            frames += [m.json() for m in decoder.feed(chunk)]
    return frames


def test_the_final_result_carries_what_the_worker_reported_and_its_wall_time(url: str) -> None:
    frames = _stream(url, words=["x", "y", "z", "w"])
    assert [f["type"] for f in frames] == ["token"] * 4 + ["result", "done"]
    usage = frames[-2]["usage"]
    assert usage.pop("wall_s") >= 0
    assert usage == {"prompt_tokens": 7, "completion_tokens": 4, "gpu_s": 0.75}


def test_invoke_answers_with_the_same_usage(url: str) -> None:
    answer = httpx.post(url + "/invoke", json={"input": {"words": ["a", "b"]}}, timeout=10)
    assert answer.status_code == 200, answer.text
    usage = answer.json()["usage"]
    assert usage["completion_tokens"] == 2 and usage["prompt_tokens"] == 7
    assert usage["gpu_s"] == 0.75 and usage["wall_s"] >= 0


def test_what_was_not_reported_is_null_not_zero(url: str) -> None:
    frames = _stream(url, report=False)
    usage = frames[-2]["usage"]
    assert set(usage) == {"prompt_tokens", "completion_tokens", "gpu_s", "wall_s"}
    assert usage["prompt_tokens"] is None and usage["completion_tokens"] is None
    assert usage["gpu_s"] is None and usage["wall_s"] >= 0


def test_a_negative_report_fails_the_call_and_outside_a_run_nothing_happens(url: str) -> None:
    frames = _stream(url, negative=True)
    assert frames[-2]["type"] == "error" and "must not be negative" in frames[-2]["error"]
    report_usage(completion_tokens=3)  # no run here: nothing to add to, no error
