"""The chaos benchmark's short version (``bench.chaos``): 30 runs on real processes and the
local Postgres while replica ``b``, discovery and random workers are killed or stopped.
What a user cares about: every run ends, no completed result is lost, and no task of the
agent that is not safe to retry runs twice (counted at its workers by idempotency key)."""

from __future__ import annotations

import asyncio

import pytest

from bench.chaos import measure
from tests.durable.test_replicas import pytestmark as needs_postgres

pytestmark = needs_postgres


@pytest.mark.timeout(150)
def test_thirty_runs_under_chaos_all_end_with_nothing_lost_or_run_twice() -> None:
    result = asyncio.run(
        measure(runs=30, in_flight=10, deadline=60, every=1.0, max_faults=5, seed=11,
                baseline=False)
    )  # fmt: skip
    chaos = result["chaos"]
    assert chaos["faults"][0].startswith("kill_orchestrator_b"), chaos["faults"]
    assert len(chaos["faults"]) >= 2, chaos["faults"]  # the load outlasted two faults
    assert chaos["stuck"] == 0, chaos
    assert chaos["completed"] + chaos["failed_clearly"] == 30, chaos
    assert chaos["results_lost"] == 0, chaos
    assert chaos["executed_twice"] == 0, chaos
