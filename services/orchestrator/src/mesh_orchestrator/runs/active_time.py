"""A run's active time, read from its stored event log: what its wall-time budget counts.

A run is active from its ``run`` event until it parks for a person (``awaiting_approval``,
in doubt included; ``paused``; ``input_required``) or ends (``done``), and again from each
take-up (``approved``, ``resumed``) to its next park. An owner that stopped without parking
(it died, or was cut off) was active up to the last event it stored; the time until another
replica took the run up is not counted. Each stretch begins and ends with events stamped by
the one replica that owned the run then, so clocks of different replicas are never compared.

A replica taking a run up (``runs.resume.recover``) starts its budget from this figure and
counts on from the moment it took the run up (``graph.policy.initial_state``'s
``active_since``), so the count survives a crash, a handover and any number of parks.
"""

from __future__ import annotations

from collections.abc import Iterable

from mesh_contracts import StreamEvent

# Run-level ``status`` events (no ``task_id``) that park a run and that take it up again.
PARKS = frozenset({"awaiting_approval", "paused", "input_required"})
TAKE_UPS = frozenset({"approved", "resumed"})


def active_seconds(events: Iterable[StreamEvent]) -> float:
    """The run's active seconds so far (see the module docstring); ``events`` in seq order."""
    active = 0.0
    since: float | None = None  # when the current active stretch began
    last: float | None = None  # the previous event's time
    for e in events:
        status = e.data.get("status") if e.task_id is None and e.type == "status" else None
        if e.type == "run":
            since = e.ts
        elif status in TAKE_UPS:
            if since is not None and last is not None:  # its owner stopped without parking
                active += max(0.0, last - since)
            since = e.ts
        elif (status in PARKS or e.type == "done") and since is not None:
            active += max(0.0, e.ts - since)
            since = None
        last = e.ts
    if since is not None and last is not None:
        active += max(0.0, last - since)
    return round(active, 3)
