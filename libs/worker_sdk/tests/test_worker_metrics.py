"""GET /metrics of a worker: slots in use, 429 refusals and runs by outcome, parsed as
Prometheus text and moving with the requests; no GPU gauge (and no torch) for a text worker."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from mesh_contracts import AgentDescriptor, SSEDecoder, StreamingMode, TaskRequest, TokenEvent
from mesh_testkit import wait_until
from mesh_testkit.metrics import Key, scrape
from mesh_worker import Emit, InputError, Worker, WorkerSettings, create_worker_app
from mesh_worker.metrics import gpu_memory
from mesh_worker.testing import serving

DEADLINE = 10.0


class FakeInput(BaseModel):
    text: str
    mode: str = "tokens"


class FakeWorker(Worker[FakeInput]):
    """One slot; ``mode``: tokens, fail (raises), refuse (InputError), hold (until cancelled)."""

    Input = FakeInput

    def __init__(self) -> None:
        self.cancelled = threading.Event()

    def describe(self) -> AgentDescriptor:
        return AgentDescriptor(
            agent_id="fake",
            endpoint="http://placeholder.invalid",
            capabilities=["text_generation"],
            streaming_mode=StreamingMode.DYNAMIC_EVENTS,
            max_concurrency=1,
        )

    async def run(self, task: TaskRequest, inp: FakeInput, emit: Emit) -> Any:
        await emit(TokenEvent(token=inp.text))
        if inp.mode == "fail":
            raise RuntimeError("boom")
        if inp.mode == "refuse":
            raise InputError("cannot serve it")
        if inp.mode == "hold":
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        return None


@pytest.fixture
def fake() -> FakeWorker:
    return FakeWorker()


@pytest.fixture
def url(fake: FakeWorker) -> Iterator[str]:
    settings = WorkerSettings(discovery_url="", ping_seconds=0.1)
    with serving(create_worker_app(fake, settings)) as base:
        yield base


def runs(outcome: str) -> Key:
    return ("mesh_worker_runs_total", (("outcome", outcome),))


async def test_worker_metrics_follow_slots_refusals_and_run_outcomes(
    url: str, fake: FakeWorker
) -> None:
    start = scrape(url)
    assert start[("mesh_worker_slots_in_use", ())] == 0
    assert start[("mesh_worker_slots", ())] == 1
    assert start[("mesh_worker_busy_refusals_total", ())] == 0
    assert not any(name == "mesh_worker_gpu_memory_bytes" for name, _ in start)

    async with httpx.AsyncClient(timeout=DEADLINE) as c:
        assert (await c.post(url + "/invoke", json={"input": {"text": "ab"}})).status_code == 200
        fail = {"input": {"text": "x", "mode": "fail"}}
        assert (await c.post(url + "/invoke", json=fail)).status_code == 500
        async with c.stream("POST", url + "/stream", json=fail) as r:
            await r.aread()  # an error frame, then done
        refuse = {"input": {"text": "x", "mode": "refuse"}}
        async with c.stream("POST", url + "/stream", json=refuse) as r:
            await r.aread()
        hold = {"input": {"text": "x", "mode": "hold"}}
        async with c.stream("POST", url + "/stream", json=hold) as held:
            decoder = SSEDecoder()
            async for chunk in held.aiter_bytes():
                if decoder.feed(chunk):
                    break  # the run is going and holds the only slot
            busy = scrape(url)
            assert busy[("mesh_worker_slots_in_use", ())] == 1
            refused = await c.post(url + "/invoke", json={"input": {"text": "x"}})
            assert refused.status_code == 429
        # Hung up: the held run is cancelled.
        assert await asyncio.to_thread(fake.cancelled.wait, DEADLINE)

    wait_until(lambda: scrape(url)[runs("cancelled")] == 1, timeout=DEADLINE, what="cancelled")
    end = scrape(url)
    assert end[("mesh_worker_busy_refusals_total", ())] == 1
    assert end[runs("completed")] == 1
    assert end[runs("failed")] == 2  # one invoke, one stream
    assert end[runs("invalid_input")] == 1
    assert end[("mesh_worker_slots_in_use", ())] == 0
    route = (("method", "POST"), ("route", "/invoke"), ("status", "429"))
    assert end[("mesh_http_requests_total", route)] == 1


def test_gpu_memory_is_read_per_device_from_torch_cuda() -> None:
    class Cuda:
        def device_count(self) -> int:
            return 2

        def mem_get_info(self, i: int) -> tuple[int, int]:
            return (1000 + i, 8000)

        def memory_allocated(self, i: int) -> int:
            return 10 * (i + 1)

        def memory_reserved(self, i: int) -> int:
            return 20 * (i + 1)

    class Torch:
        cuda = Cuda()

    got = {tuple(labels): value for labels, value in gpu_memory(Torch())}
    assert got[("cuda:1", "free")] == 1001 and got[("cuda:0", "total")] == 8000
    assert (got[("cuda:0", "allocated")], got[("cuda:1", "reserved")]) == (10, 40)
