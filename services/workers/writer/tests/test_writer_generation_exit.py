"""Leaving a generation stream waits until its thread has stopped (a fake model that takes
its time to notice the halt), so a concurrency slot freed after it is really free."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import torch

from mesh_worker_writer.adapters import LoraAdapters
from mesh_worker_writer.generation import GenerationParams, GenerationStats, GenerationStream


class ByteTokenizer:
    def decode(self, token_ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
        return bytes(token_ids).decode("utf-8", errors="replace")


class SlowToStopModel:
    """Emits "A" tokens until a stopping criterion says stop, then stays in its "last
    forward pass" until ``release`` is set."""

    generation_config = type("GenerationConfig", (), {"eos_token_id": 0})()

    def __init__(self) -> None:
        self.saw_halt = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    def generate(self, **kwargs: Any) -> None:
        streamer, criteria = kwargs["streamer"], kwargs["stopping_criteria"]
        ids = kwargs["input_ids"]
        streamer.put(ids[0])
        while not bool(criteria(ids, torch.zeros(1, 1)).all()):
            streamer.put(torch.tensor([65]))
            ids = torch.cat([ids, torch.tensor([[65]])], dim=1)
            self.release.wait(0.01)  # one "token" of work, polled so the test stays fast
        self.saw_halt.set()
        self.release.wait(30)
        self.finished.set()


def open_stream(model: SlowToStopModel, tmp_path: Path, exit_wait_s: float) -> GenerationStream:
    return GenerationStream(
        model=model,
        tokenizer=ByteTokenizer(),
        adapters=LoraAdapters(tmp_path),
        model_lock=threading.Lock(),
        stats=GenerationStats(),
        encoding={"input_ids": torch.tensor([[1, 2]])},
        prompt_tokens=2,
        params=GenerationParams(max_new_tokens=10_000, temperature=0),
        loop=asyncio.get_running_loop(),
        on_open=lambda: None,
        on_close=lambda: None,
        exit_wait_s=exit_wait_s,
    )


async def read_one_then_leave(stream: GenerationStream) -> None:
    async with stream:
        async for _ in stream:
            break


async def test_leaving_a_stream_returns_only_once_the_thread_has_stopped(tmp_path: Path) -> None:
    model = SlowToStopModel()
    stream = open_stream(model, tmp_path, exit_wait_s=30)
    leaving = asyncio.ensure_future(read_one_then_leave(stream))
    assert await asyncio.to_thread(model.saw_halt.wait, 30)
    await asyncio.sleep(0)  # give a wrongly early return its chance to show
    assert not leaving.done()  # halted, but the thread is still in its last step
    model.release.set()
    await asyncio.wait_for(leaving, 30)
    assert model.finished.is_set() and stream.exited.is_set()


async def test_a_cancel_while_waiting_for_the_thread_waits_on_then_propagates(
    tmp_path: Path,
) -> None:
    model = SlowToStopModel()
    stream = open_stream(model, tmp_path, exit_wait_s=30)
    leaving = asyncio.ensure_future(read_one_then_leave(stream))
    assert await asyncio.to_thread(model.saw_halt.wait, 30)
    leaving.cancel()
    await asyncio.sleep(0)
    assert not leaving.done()
    model.release.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(leaving, 30)
    assert model.finished.is_set()


async def test_the_wait_for_a_stuck_thread_is_bounded(tmp_path: Path) -> None:
    model = SlowToStopModel()
    stream = open_stream(model, tmp_path, exit_wait_s=0.2)
    try:
        await asyncio.wait_for(read_one_then_leave(stream), 30)
        assert not model.finished.is_set()  # gave up waiting; the thread is still there
    finally:
        model.release.set()
        await asyncio.wait_for(stream.exited.wait(), 30)
