"""The registry's store interface, its errors, and the filters every store applies alike.

A store keeps AgentRecords keyed by ``descriptor.instance_id`` and a monotonically increasing
index. The index increases on every change a reader could see (register, deregister, a lease
lapsing, a heartbeat reviving a critical instance, reaping) and never on a heartbeat that only
extends a passing lease, so watchers wake only when something changed.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from mesh_contracts import AgentDescriptor, AgentRecord, HealthStatus, InstanceLoad, Lease

# ``timeout`` in ``wait_for_change`` is the blocking-query contract (answer when it elapses),
# not a cancellation deadline, hence the ASYNC109 exemptions.

Clock = Callable[[], float]
"""Seconds since the epoch; injectable so tests drive lease expiry without sleeping."""

SOURCE_API = "api"
SOURCE_FILE = "file"


@dataclass
class StoreCounts:
    """What a store did since this process started, as plain ints (the metrics read them
    at scrape time). ``counts_lapses`` is False for a backend that lapses and reaps leases
    itself (Consul): its ``lapses``/``reaps`` stay 0 and are not reported."""

    registrations: int = 0
    heartbeats: int = 0
    lapses: int = 0  # leases that ran out: the instance went critical
    reaps: int = 0  # instances removed after ``reap_after_seconds`` critical
    counts_lapses: bool = True


class RegistryError(Exception):
    """Base of the errors a store raises on a request it cannot honour."""


class UnknownInstance(RegistryError, KeyError):
    """No instance with this id is registered (it was never, or was deregistered or reaped)."""

    def __init__(self, instance_id: str) -> None:
        super().__init__(instance_id)
        self.instance_id = instance_id

    def __str__(self) -> str:
        return f"unknown instance {self.instance_id!r}"


class DeclaredInstance(RegistryError):
    """The instance is declared in the agents file: it holds no lease to renew."""

    def __init__(self, instance_id: str) -> None:
        super().__init__(instance_id)
        self.instance_id = instance_id

    def __str__(self) -> str:
        return f"instance {self.instance_id!r} is declared in the agents file and never expires"


class StoreUnavailable(RegistryError):
    """The backend (e.g. Consul) cannot be reached or answered an error."""


@dataclass(frozen=True, slots=True)
class AgentFilter:
    """What ``Store.list`` keeps; every field left ``None`` matches everything.

    ``tag`` matches the descriptor's tags; ``healthy=True`` keeps passing instances only,
    ``healthy=False`` keeps critical ones only.
    """

    capability: str | None = None
    tag: str | None = None
    agent_id: str | None = None
    healthy: bool | None = None

    def matches(self, record: AgentRecord) -> bool:
        d = record.descriptor
        if self.capability is not None and self.capability not in d.capabilities:
            return False
        if self.tag is not None and self.tag not in d.tags:
            return False
        if self.agent_id is not None and self.agent_id != d.agent_id:
            return False
        return self.healthy is None or self.healthy == (record.status is HealthStatus.PASSING)


def select(
    records: Iterable[AgentRecord], filters: AgentFilter | None
) -> builtins.list[AgentRecord]:
    """Records matching ``filters`` in a stable order: by agent_id, then instance_id."""
    keep = filters or AgentFilter()
    chosen = [r for r in records if keep.matches(r)]
    chosen.sort(key=lambda r: (r.descriptor.agent_id, r.descriptor.instance_id))
    return chosen


def lease_body(instance_id: str, ttl_seconds: float, expires_at: float, index: int) -> bytes:
    """``Lease(...).model_dump_json()`` written by hand (a test holds them byte-equal): the
    answer to every heartbeat, where building and dumping the model was a measurable share
    of the heartbeat's own CPU."""
    return (
        f'{{"instance_id":{json_string(instance_id)},"ttl_seconds":{float(ttl_seconds)!r},'
        f'"expires_at":{float(expires_at)!r},"index":{int(index)}}}'
    ).encode()


def json_string(text: str) -> str:
    """``json.dumps(text)``: as is between quotes when every character is printable ASCII
    other than a quote or a backslash (what ``json.dumps`` leaves alone; an instance id
    nearly always), else ``json.dumps``: 0.21 us instead of 0.41 (timeit), on every heartbeat."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text)


def list_body(records: Iterable[str]) -> bytes:
    """The JSON array ``GET /v1/agents`` answers, from each record's JSON."""
    return ("[" + ",".join(records) + "]").encode()


def changes_body(index: int, full: bool, upserts: Iterable[str], removals: Iterable[str]) -> bytes:
    """``RegistryChanges`` as JSON (``GET /v1/changes``), from each upserted record's JSON."""
    return (
        f'{{"index":{index},"full":{"true" if full else "false"},'
        f'"upserts":[{",".join(upserts)}],"removals":{json.dumps(list(removals))}}}'
    ).encode()


@runtime_checkable
class Store(Protocol):
    """A registry backend. Every method is safe to call concurrently from one event loop.

    Implementations: ``EmbeddedStore`` (SQLite, the default) and ``ConsulStore``; both pass
    ``tests/test_store_conformance.py``.
    """

    name: str

    async def open(self) -> None:
        """Connect / load state; raise ``StoreUnavailable`` when the backend is unusable."""

    async def close(self) -> None:
        """Release connections; wakes nothing and loses nothing already committed."""

    async def register(self, descriptor: AgentDescriptor, ttl_seconds: float) -> Lease:
        """Upsert by ``descriptor.instance_id``: replace the descriptor, renew the lease."""

    async def declare(self, descriptors: Iterable[AgentDescriptor]) -> None:
        """Make exactly these the file-declared agents (never expire, always passing).

        Previously declared agents missing from ``descriptors`` are removed.
        """

    async def heartbeat(self, instance_id: str, load: InstanceLoad | None = None) -> Lease:
        """Renew the lease; revive a critical instance; keep ``load`` (when given) on its
        record. Raises ``UnknownInstance``."""

    async def deregister(self, instance_id: str) -> None:
        """Remove the instance. Raises ``UnknownInstance``."""

    async def get(self, instance_id: str) -> AgentRecord:
        """The instance's record. Raises ``UnknownInstance``."""

    async def agent_of(self, instance_id: str) -> str:
        """The instance's agent id (who may heartbeat it). Raises ``UnknownInstance``."""

    async def list(self, filters: AgentFilter | None = None) -> builtins.list[AgentRecord]:
        """Matching records ordered by (agent_id, instance_id)."""

    async def list_json(self, filters: AgentFilter | None = None) -> bytes:
        """``list(filters)`` as the JSON array the API sends (a store may keep each
        record's JSON at hand)."""

    async def changes_json(self, since: int) -> bytes:
        """``RegistryChanges`` after index ``since`` as JSON: the records upserted and the
        ids removed since then, or everything (``full``) when the store cannot tell."""

    async def index(self) -> int:
        """The current registry index."""

    async def wait_for_change(self, index: int, timeout: float) -> int:  # noqa: ASYNC109
        """Return the current index as soon as it differs from ``index``, or after ``timeout``."""

    async def sweep(self, now: float | None = None) -> int:
        """Mark lapsed leases critical and reap long-critical instances; return changes made."""
