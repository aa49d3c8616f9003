"""The run store interface and the record it keeps per run.

Runs outlive the process that executes them: each running run is held by one orchestrator
replica through a lease (``lease_owner``, ``epoch``, ``lease_expires_at``) kept in its row.
``claim`` takes an orphaned run (its lease lapsed, or it was held by this replica's previous
incarnation) and bumps its epoch; every later write of the run names the epoch it was made
under, and a write under an older epoch is refused (``Fenced``), so a replica that was
paused past its lease and woke up cannot corrupt a run someone else now executes.
``seq_reserved`` is the highest event id the owner may have handed out: a new owner numbers
past it, so no id a client may have seen is ever reused.

What a client may hold is counted here too, so every replica sees the same figures: the
runs a client has in progress (``admit``: running or parked, whichever replica holds them)
and its token buckets (``take_token``: how fast it may start runs and plans).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field

from mesh_contracts import RunStatus, StreamEvent
from mesh_orchestrator.runs.events import RelayedEvent

if TYPE_CHECKING:
    from mesh_orchestrator.runs.store.deliveries import Delivery

# What ``append_events`` takes: the contract model, or the multiplexer's own record of it.
StoredEvent = StreamEvent | RelayedEvent

#: The statuses of a run in progress (running, or parked: awaiting approval and any later
#: parked state): what counts against a client's ``ORCH_MAX_RUNS_PER_CLIENT``.
IN_PROGRESS = tuple(s.value for s in RunStatus if not s.terminal)


# ``admit``'s limit for an owner without one: nothing is counted.
NO_LIMIT = 2**31 - 1


class RunRecord(BaseModel):
    """One run: what ``GET /v1/runs/{id}`` reports (``plan`` is a list of PlanNode dicts)."""

    run_id: str
    query: str
    status: RunStatus = RunStatus.RUNNING
    created_at: float
    finished_at: float | None = None
    plan: list[dict[str, Any]] | None = None
    answer: str | None = None
    last_seq: int = 0
    options: dict[str, Any] = Field(default_factory=dict)
    # The token scope that started it (``client:alice``, ``admin``); None on a mesh running
    # open. A client token sees only the runs it owns (api/routes.py).
    owner: str | None = None
    # Who executes it (see the module docstring); written by claim/renew/release, not save.
    lease_owner: str | None = None
    epoch: int = 0
    lease_expires_at: float | None = None
    seq_reserved: int = 0
    cancel_requested: bool = False

    def lease(self) -> dict[str, Any]:
        """What ``GET /v1/runs/{id}`` shows of the lease."""
        return {
            "owner": self.lease_owner,
            "epoch": self.epoch,
            "expires_at": self.lease_expires_at,
        }

    @property
    def finished(self) -> bool:
        return self.status.terminal

    def summary(self) -> dict[str, Any]:
        return self.model_dump(
            mode="json", include={"run_id", "query", "status", "created_at", "finished_at"}
        )


class Fenced(Exception):
    """A write under an epoch that is no longer the run's: another replica owns it now."""

    def __init__(self, run_ids: Collection[str]) -> None:
        super().__init__("fenced: " + ", ".join(sorted(run_ids)))
        self.run_ids = set(run_ids)


class RunStore(Protocol):
    """Async persistence of runs and event logs. Writes are idempotent upserts."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def save_run(self, run: RunRecord, outbox: Sequence[Delivery] = ()) -> None:
        """Insert the run's row, or update it when ``run.epoch`` is still the stored one;
        raises ``Fenced`` otherwise. The lease columns are kept as stored (only ``claim``,
        ``renew`` and ``release`` change them) except on the first insert. ``outbox``: the
        webhook deliveries of this state (``runs.store.outbox``), stored in the same
        transaction as the row (both or neither; an id already stored is skipped)."""
        ...

    async def append_events(
        self, events: Sequence[StoredEvent], epochs: Mapping[str, int] | None = None
    ) -> set[str]:
        """Store a batch of events (any runs); re-appending a (run_id, seq) is a no-op.

        With ``epochs`` (run_id -> the writer's epoch), events of a run whose stored epoch
        differs are not stored; their run ids are returned (the writer is fenced)."""
        ...

    async def store_batch(
        self,
        runs: Sequence[RunRecord],
        events: Sequence[StoredEvent],
        epochs: Mapping[str, int],
        outbox: Mapping[str, Sequence[Delivery]] | None = None,
    ) -> set[str]:
        """One flush of the multiplexer in **one transaction**: the rows of ``runs`` (as
        ``save_run``, each with its webhook deliveries ``outbox[run_id]``), then ``events``
        (as ``append_events`` with ``epochs``). Nothing of it is stored, or all but what
        was fenced: returns the runs whose row (stored epoch not the record's) or events
        (stored epoch not ``epochs``') were refused; none of a fenced run's row,
        deliveries or events are stored. The rows are made of the records as they are
        when it is called, before its first await."""
        ...

    async def claim(self, run_id: str, owner: str, lease_seconds: float) -> RunRecord | None:
        """Take the running run ``run_id`` when its lease lapsed (or ``owner`` held it):
        its epoch goes up by one. None when someone else holds it or it ended."""
        ...

    async def claim_waiting(
        self, run_id: str, owner: str, lease_seconds: float
    ) -> RunRecord | None:
        """Take the run ``run_id`` that awaits approval (whoever paused it, on any replica):
        it becomes ``running`` again under ``owner``'s lease, its epoch up by one. None when
        it does not await approval (unknown, running, ended, or taken by another caller)."""
        ...

    async def claim_parked(
        self, run_id: str, status: str, owner: str, lease_seconds: float
    ) -> RunRecord | None:
        """Take the run ``run_id`` parked with ``status`` (``paused``; any replica parked
        it) as ``claim_waiting`` does: ``running`` under ``owner``'s lease, epoch up by one,
        any pause request of it dropped. None when it is not parked so."""
        ...

    async def request_pause(self, run_id: str, cancel_running: bool) -> bool:
        """Ask whoever executes the running run ``run_id`` to pause it (its keeper reads
        ``pause_requests``); False when it is not running."""
        ...

    async def pause_requests(self, run_ids: Sequence[str]) -> dict[str, bool]:
        """Of ``run_ids``, those whose pause was asked for: run id -> ``cancel_running``."""
        ...

    async def clear_pause(self, run_id: str) -> None:
        """Forget the pause request of ``run_id`` (it was paused, or it ended)."""
        ...

    async def pin(self, run_id: str, pinned: bool) -> bool:
        """Keep the run from retention (``pinned``) or let it go again; False for an
        unknown run."""
        ...

    async def pinned(self, run_id: str) -> bool: ...

    async def take_singleton(self, name: str, owner: str, seconds: float) -> bool:
        """Hold the lease ``name`` (one holder among every replica) for ``seconds`` more:
        True when ``owner`` holds it now (it was free, lapsed, or already ``owner``'s)."""
        ...

    async def purge(
        self,
        before: float,
        owners: Sequence[str] | None,
        exclude: Sequence[str],
        limit: int,
        only: Sequence[str] | None = None,
    ) -> tuple[int, int]:
        """Remove at most ``limit`` finished, unpinned runs that finished before ``before``
        (owned by one of ``owners``; None: any owner not in ``exclude``; ``only``: and among
        these ids), with their events; returns (runs, events) removed."""
        ...

    async def due(
        self,
        before: float,
        owners: Sequence[str] | None,
        exclude: Sequence[str],
        limit: int,
        skip: Sequence[str] = (),
    ) -> list[tuple[str, float]]:
        """The runs ``purge`` would remove, oldest first, but those in ``skip``: at most
        ``limit`` (run id, finished_at); nothing is removed."""
        ...

    async def renew(
        self, epochs: Mapping[str, int], owner: str, lease_seconds: float
    ) -> tuple[set[str], set[str]]:
        """Extend the leases of the runs this owner executes; returns (fenced run ids,
        run ids whose cancel was requested on another replica)."""
        ...

    async def release(self, run_id: str, epoch: int) -> None:
        """Let the lease lapse now (graceful drain): another replica may claim the run."""
        ...

    async def orphans(self, owner: str, limit: int = 100) -> list[str]:
        """Running runs someone may claim: lease lapsed, never leased, or held by ``owner``."""
        ...

    async def request_cancel(self, run_id: str) -> bool:
        """Flag a running run for cancellation by whoever owns it; False if not running."""
        ...

    async def events_after(
        self, run_id: str, after: int = 0, limit: int | None = None, max_bytes: int | None = None
    ) -> list[StreamEvent]:
        """Events of ``run_id`` with ``seq > after``, in seq order: at most ``limit`` of
        them, and no more than ``max_bytes`` of stored ``data`` (but always the first one):
        one page of the log (``runs.replay``)."""
        ...

    async def admit(self, run: RunRecord, limit: int, *, commit: bool = True) -> bool:
        """Store the new run's row unless its ``owner`` already has ``limit`` runs in
        progress (``IN_PROGRESS``), atomically for every replica; False (nothing stored)
        when it has. ``NO_LIMIT``: nothing is counted (the owner has no limit), the row is
        only stored. Committed when it returns, unless ``commit`` is False and the store
        leaves the commit to ``commit_admitted`` (SQLite's: the run is counted, not stored
        yet; Postgres commits at once)."""
        ...

    def commit_admitted(self, run_id: str | None = None) -> None:
        """Commit what ``admit(commit=False)`` left open (nothing where ``admit`` commits);
        call it before the run's id is handed out. Raises when ``run_id``'s admission could
        not be committed (the run is not stored)."""
        ...

    async def runs_in_progress(self, owner: str) -> int:
        """How many runs ``owner`` has in progress (``IN_PROGRESS``), on every replica."""
        ...

    async def take_token(self, key: str, rate: float, burst: int) -> float:
        """Take one token from the bucket ``key`` (``burst`` tokens at most, refilled at
        ``rate`` per second), shared by every replica: 0 when taken, else the seconds until
        one is there (nothing taken)."""
        ...

    async def get_run(self, run_id: str) -> RunRecord | None: ...

    async def list_runs(self, limit: int = 20, owner: str | None = None) -> list[RunRecord]:
        """Newest first; with ``owner``, only the runs it owns."""
        ...

    async def mark_interrupted(self) -> list[str]:
        """At start-up: every run still ``running`` becomes ``interrupted``; returns their ids."""
        ...
