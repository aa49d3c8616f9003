"""``relay.gate.Signal``, the event a run's gate and budget hold: ``asyncio.Event``'s
behaviour (every waiter woken by ``set``, a cancelled waiter leaving the others waiting,
``clear`` making the next wait wait), without a deque of waiters per run."""

from __future__ import annotations

import asyncio
import collections
import gc

from mesh_orchestrator.relay.budget import RunBudget
from mesh_orchestrator.relay.gate import Gate, Signal

DEADLINE = 5.0


async def test_set_wakes_every_waiter_and_a_cancelled_one_leaves_the_others_waiting() -> None:
    signal = Signal()
    waiters = [asyncio.create_task(signal.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    waiters[0].cancel()
    await asyncio.sleep(0)
    assert waiters[0].cancelled() and not any(w.done() for w in waiters[1:])
    signal.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters[1:]), DEADLINE) == [True, True]
    assert signal.is_set() and await signal.wait()  # set: at once


async def test_clear_makes_the_next_wait_wait_and_set_ends_it() -> None:
    signal = Signal(True)
    signal.clear()
    waiter = asyncio.create_task(signal.wait())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    signal.set()
    assert await asyncio.wait_for(waiter, DEADLINE)


async def test_a_closed_gate_holds_tasks_and_idle_waits_for_the_running_ones() -> None:
    gate = Gate()
    await asyncio.wait_for(gate.enter("t1"), DEADLINE)  # open: at once
    idle = asyncio.create_task(gate.idle())
    gate.close()
    entering = asyncio.create_task(gate.enter("t2"))
    await asyncio.sleep(0.01)
    assert gate.closed and not entering.done() and not idle.done()
    gate.leave("t1")
    await asyncio.wait_for(idle, DEADLINE)
    assert not entering.done() and gate.running == set()
    entering.cancel()


async def test_a_budget_past_its_tokens_wakes_its_waiter() -> None:
    from mesh_contracts import Budget

    budget = RunBudget(Budget(tokens=2))
    waiter = asyncio.create_task(budget.stop.wait())
    await asyncio.sleep(0)
    budget.streamed(3)
    await asyncio.wait_for(waiter, DEADLINE)
    assert budget.exhausted == "tokens"


def test_a_run_s_gate_and_budget_hold_no_deque_of_waiters() -> None:
    """What made them cost ~2.3 KB a run: an ``asyncio.Event`` each, each with a deque."""
    held = [Gate(), RunBudget()]
    reached = gc.get_referents(*held)
    reached += gc.get_referents(*reached)
    assert not [o for o in reached if isinstance(o, collections.deque | asyncio.Event)]
