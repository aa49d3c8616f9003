"""Approving a run in the instant between its ``awaiting_approval`` event and its parked
row being stored (unit test: fakes for the driver, mux, store and resumer, named so).

The run's in-memory record says ``awaiting_approval`` as soon as that event is projected,
while its row is still stored as running; a client that approves on the event (or on a GET
of the run) must wait for the parking, not get 409. Seen in the durable in-doubt test as a
409 from ``approve`` under load.
"""

from __future__ import annotations

from typing import Any

from mesh_contracts import RunStatus
from mesh_orchestrator.runs.approval import ApprovalOutcome, Approvals


class FakeRecord:
    def __init__(self, status: RunStatus) -> None:
        self.status = status


class FakeDriver:
    draining = False

    def __init__(self, status: RunStatus) -> None:
        self.status = status

    def task(self, run_id: str) -> None:
        return None  # the run's task has ended (or runs elsewhere)

    async def get(self, run_id: str) -> FakeRecord:
        return FakeRecord(self.status)


class FakeMux:
    def __init__(self) -> None:
        self.channels: dict[str, Any] = {}
        self.flushes = 0

    async def flush(self) -> None:
        self.flushes += 1


class FakeStore:
    """``claim_waiting`` finds the parked row only after ``stored_after`` flushes."""

    def __init__(self, mux: FakeMux, stored_after: int) -> None:
        self.mux = mux
        self.stored_after = stored_after

    async def claim_waiting(self, run_id: str, owner: str, lease: float) -> FakeRecord | None:
        return (
            FakeRecord(RunStatus.AWAITING_APPROVAL)
            if self.mux.flushes >= self.stored_after
            else None
        )


class FakeResumer:
    async def reopen(self, record: FakeRecord) -> tuple[str, str, None]:
        return "rec", "events", None


def approvals(status: RunStatus, stored_after: int) -> Approvals:
    mux = FakeMux()
    return Approvals(
        FakeDriver(status),  # type: ignore[arg-type]
        FakeResumer(),  # type: ignore[arg-type]
        mux,  # type: ignore[arg-type]
        FakeStore(mux, stored_after),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
    )


async def test_a_run_whose_record_says_awaiting_is_claimed_once_its_row_is_stored() -> None:
    taken = await approvals(RunStatus.AWAITING_APPROVAL, stored_after=1)._take_waiting("r1")
    assert not isinstance(taken, ApprovalOutcome), taken
    assert taken[0].status is RunStatus.AWAITING_APPROVAL


async def test_a_finished_run_is_not_waiting_at_once() -> None:
    taken = await approvals(RunStatus.COMPLETED, stored_after=10**9)._take_waiting("r1")
    assert taken is ApprovalOutcome.NOT_WAITING
