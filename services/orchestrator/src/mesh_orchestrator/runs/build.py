"""``build_runs``: the one place the ``RunService`` and its members are built and wired.

Each member gets its collaborators through its constructor (see ``runs.service``): the
driver knows none of the others; the resumer drives through the driver; the lease keeper,
the approvals and the pauses use both. Two hooks of the multiplexer are set here too: a
flushed batch wakes the followers of its runs (``Wakeups``), and a write the store refused
(another replica owns the run now) stops the run here (``RunDriver.fenced``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mesh_contracts import RunStatus
from mesh_orchestrator.runs.approval import Approvals
from mesh_orchestrator.runs.driving import RunDriver
from mesh_orchestrator.runs.in_doubt import InDoubtPolicy, InFlightCheck
from mesh_orchestrator.runs.leases import LeaseKeeper
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.pausing import Pauses
from mesh_orchestrator.runs.replay import Wakeups
from mesh_orchestrator.runs.resuming import Resumer
from mesh_orchestrator.runs.service import RunService
from mesh_orchestrator.runs.states import RunStates
from mesh_orchestrator.runs.store.base import RunStore
from mesh_orchestrator.tracing import NO_TRACER, Tracer


def build_runs(
    graph: Any,
    mux: EventMux,
    store: RunStore,
    *,
    max_replans: int = 1,
    max_llm_attempts: int = 2,
    tracer: Tracer = NO_TRACER,
    replica_id: str = "orchestrator",
    lease_seconds: float = 10.0,
    follow_poll_seconds: float = 0.2,
    registry_read: Callable[[], Awaitable[object]] | None = None,
    read_every_run: bool = False,
    in_flight_check: InFlightCheck | None = None,
    in_doubt: InDoubtPolicy = InDoubtPolicy.PARK,
    on_ended: Callable[[str, RunStatus], None] | None = None,
) -> RunService:
    """The runs of this replica over ``graph``, ``mux`` and ``store``; ``await recover()``
    on what it returns before serving.

    ``lease_seconds``: a run's lease (renewed every third of it); ``follow_poll_seconds``:
    how often a follower of a run executed elsewhere polls while the store's notifications
    are not heard; ``registry_read``: a run's read of discovery (``read_every_run``: at
    every run's start, else only traced runs and resolves that need it);
    ``in_flight_check``: asks a worker about a call that was out when its run changed
    hands; ``in_doubt``: what a task still in doubt then does (park or fail);
    ``on_ended``: told of every run that ends here (``runs.withdrawal``)."""
    states = RunStates(max_replans=max_replans, max_llm_attempts=max_llm_attempts)
    # Followers of runs executed elsewhere, woken as the store gets their events: by this
    # process's flushes, and (Postgres) every replica's notifications once heard.
    wakeups = Wakeups(listening=getattr(store, "listen", None) is None)
    driver = RunDriver(
        graph, mux, store, registry_read=registry_read, read_every_run=read_every_run
    )
    if on_ended is not None:
        driver.on_ended = on_ended
    mux.on_stored = wakeups.wake
    mux.on_fenced = driver.fenced  # a store refusing this replica's writes stops runs
    resumer = Resumer(
        driver,
        mux,
        store,
        states,
        replica_id=replica_id,
        tracer=tracer,
        in_flight_check=in_flight_check,
        in_doubt=in_doubt,
    )
    ours, lease = replica_id, lease_seconds
    return RunService(
        driver,
        LeaseKeeper(driver, resumer, mux, store, wakeups, replica_id=ours, lease_seconds=lease),
        Approvals(driver, resumer, mux, store, states, replica_id=ours, lease_seconds=lease),
        Pauses(driver, resumer, mux, store, replica_id=ours, lease_seconds=lease),
        states,
        mux,
        store,
        wakeups,
        tracer=tracer,
        replica_id=replica_id,
        lease_seconds=lease_seconds,
        follow_poll_seconds=follow_poll_seconds,
    )
