"""``relay.deadline``: a task's deadline as ``asyncio.timeout`` gives it (the task cancelled
at the deadline, ``TimeoutError`` out of the block, someone else's cancel going on as
``CancelledError``), every open deadline on one timer of the loop."""

from __future__ import annotations

import asyncio
import gc

import pytest

from mesh_orchestrator.relay.deadline import Deadline, Deadlines


async def test_a_block_past_its_deadline_raises_timeout_and_the_task_goes_on() -> None:
    wheel = Deadlines()
    with pytest.raises(TimeoutError):
        async with wheel.within(0.01):
            await asyncio.sleep(5)
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    await asyncio.sleep(0)  # not cancelled again


async def test_a_block_that_ends_in_time_is_not_cancelled_later() -> None:
    wheel = Deadlines()
    async with wheel.within(0.02):
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)  # past the deadline: nothing happens to the task
    async with wheel.within(None):  # no bound
        await asyncio.sleep(0.01)


async def test_deadlines_expire_in_their_order_on_one_timer() -> None:
    wheel = Deadlines()
    ended: list[str] = []

    async def held(name: str, seconds: float) -> None:
        try:
            async with wheel.within(seconds):
                await asyncio.sleep(5)
        except TimeoutError:
            ended.append(name)

    tasks = [asyncio.create_task(held(n, s)) for n, s in (("c", 0.06), ("a", 0.02), ("b", 0.04))]
    await asyncio.sleep(0)
    assert len(wheel) == 3
    timers = [o for o in gc.get_objects() if isinstance(o, asyncio.TimerHandle)]
    # one timer of the wheel, not one a deadline (the sleeps' own aside)
    assert sum(1 for h in timers if getattr(h, "_callback", None) == wheel._fire) <= 1
    await asyncio.gather(*tasks)
    assert ended == ["a", "b", "c"]
    assert len(wheel) == 0


async def test_someone_elses_cancel_stays_a_cancel() -> None:
    wheel = Deadlines()

    async def held() -> None:
        async with wheel.within(0.01):
            try:
                await asyncio.sleep(5)
            finally:
                asyncio.current_task().cancel()  # type: ignore[union-attr]
                await asyncio.sleep(0.05)

    task = asyncio.create_task(held())
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_ended_blocks_leave_the_heap() -> None:
    wheel = Deadlines()
    for _ in range(500):
        async with wheel.within(60):
            pass
    assert len(wheel) <= 2 * 64 + 2  # rebuilt as the ended ones pile up


async def test_a_deadline_is_entered_in_a_task_once() -> None:
    d: Deadline = Deadlines().within(1)
    async with d:
        with pytest.raises(RuntimeError):
            async with d:
                pass
