"""mesh_worker.slots: a slot is free again only once the request is over and its run has ended."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from mesh_worker.slots import Slots

DEADLINE = 10.0


class _Warnings(logging.Handler):
    """Collects warnings and sets an asyncio event at the first (the slot warns on the loop)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.logged = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self.logged.set()


@pytest.fixture
def warnings_logged() -> Iterator[_Warnings]:
    handler = _Warnings()
    logger = logging.getLogger("mesh_worker.slots")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


async def test_slots_refuse_past_the_limit_and_free_on_release() -> None:
    slots = Slots(2)
    first, second = slots.try_acquire(), slots.try_acquire()
    assert first is not None and second is not None
    assert slots.try_acquire() is None
    first.release()
    first.release()  # idempotent: one slot back, not two
    assert slots.in_flight == 1
    assert slots.try_acquire() is not None


async def test_a_released_slot_stays_taken_until_its_run_ends_and_warns_past_the_grace(
    warnings_logged: _Warnings,
) -> None:
    slots = Slots(1, grace=0.01)
    slot = slots.try_acquire("task t1")
    assert slot is not None
    end = asyncio.Event()
    run = asyncio.create_task(end.wait())
    slot.hold_until_done(run)
    slot.release()
    assert slots.in_flight == 1 and slots.try_acquire() is None
    await asyncio.wait_for(warnings_logged.logged.wait(), DEADLINE)
    [warning] = warnings_logged.messages
    assert "task t1" in warning and "still going" in warning
    assert slots.in_flight == 1
    end.set()
    await run
    await asyncio.sleep(0)  # done callbacks run on the next loop iteration
    assert slots.in_flight == 0


async def test_a_run_that_ends_before_the_release_frees_the_slot_at_the_release() -> None:
    slots = Slots(1)
    slot = slots.try_acquire()
    assert slot is not None
    run = asyncio.create_task(asyncio.sleep(0))
    slot.hold_until_done(run)
    await run
    await asyncio.sleep(0)
    assert slots.in_flight == 1  # the request (e.g. the response stream) is not over yet
    slot.release()
    assert slots.in_flight == 0
