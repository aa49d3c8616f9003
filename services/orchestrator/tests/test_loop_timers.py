"""``relay.timers``: a task's deadline as ``asyncio.timeout`` gives it (the task cancelled
at the deadline, ``TimeoutError`` out of the block, someone else's cancel going on as
``CancelledError``), every armed entry on one timer of the loop."""

from __future__ import annotations

import asyncio
import gc

import pytest

from mesh_orchestrator.relay.timers import Deadline, deadline, loop_timers


async def test_a_block_past_its_deadline_raises_timeout_and_the_task_goes_on() -> None:
    with pytest.raises(TimeoutError):
        async with deadline(0.01):
            await asyncio.sleep(5)
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    await asyncio.sleep(0)  # not cancelled again


async def test_a_block_that_ends_in_time_is_not_cancelled_later() -> None:
    async with deadline(0.02):
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)  # past the deadline: nothing happens to the task
    async with deadline(None):  # no bound
        await asyncio.sleep(0.01)


async def test_deadlines_expire_in_their_order_on_one_timer() -> None:
    ended: list[str] = []

    async def held(name: str, seconds: float) -> None:
        try:
            async with deadline(seconds):
                await asyncio.sleep(5)
        except TimeoutError:
            ended.append(name)

    tasks = [asyncio.create_task(held(n, s)) for n, s in (("c", 0.06), ("a", 0.02), ("b", 0.04))]
    await asyncio.sleep(0)
    assert len(loop_timers()) == 3
    timers = [o for o in gc.get_objects() if issubclass(type(o), asyncio.TimerHandle)]
    # one timer of the wheel, not one a deadline (the sleeps' own aside)
    assert sum(1 for h in timers if getattr(h, "_callback", None) == loop_timers()._fire) <= 1
    await asyncio.gather(*tasks)
    assert ended == ["a", "b", "c"]
    assert len(loop_timers()) == 0


async def test_someone_elses_cancel_stays_a_cancel() -> None:

    async def held() -> None:
        async with deadline(0.01):
            try:
                await asyncio.sleep(5)
            finally:
                asyncio.current_task().cancel()  # type: ignore[union-attr]
                await asyncio.sleep(0.05)

    task = asyncio.create_task(held())
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_ended_blocks_leave_the_heap() -> None:
    for _ in range(500):
        async with deadline(60):
            pass
    assert len(loop_timers()) <= 2 * 64 + 2  # rebuilt as the ended ones pile up


async def test_a_deadline_is_entered_in_a_task_once() -> None:
    d: Deadline = deadline(1)
    async with d:
        with pytest.raises(RuntimeError):
            async with d:
                pass


class _Tick:
    """An entry that arms itself again ``again`` times, ``every`` seconds apart."""

    def __init__(self, name: str, every: float, again: int, seen: list[str]) -> None:
        self.live, self.name, self.every, self.again, self.seen = False, name, every, again, seen

    def fire(self) -> None:
        self.seen.append(self.name)
        if self.again:
            self.again -= 1
            loop_timers().later(self.every, self)


async def test_an_entry_armed_again_as_it_fires_keeps_the_others_in_order() -> None:
    seen: list[str] = []
    timers = loop_timers()
    timers.later(0.01, _Tick("a", 0.05, 1, seen))  # fires at 0.01 and 0.06
    timers.later(0.03, _Tick("b", 0, 0, seen))  # between them: must not wait for a's next
    timers.later(0.2, stopped := _Tick("c", 0, 0, seen))
    stopped.live = False  # stopped before it came due
    timers.left()
    await asyncio.sleep(0.04)
    assert seen == ["a", "b"]
    await asyncio.sleep(0.25)
    assert seen == ["a", "b", "a"]
    assert len(timers) == 0
