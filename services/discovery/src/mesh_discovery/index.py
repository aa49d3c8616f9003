"""The registry in memory: every instance by id, looked up by agent, capability and tag,
its lease deadline in a heap, its JSON ready to send, and a journal of what changed.

The embedded store keeps this in front of SQLite (``embedded.py``): reads and heartbeats
touch only this, so a heartbeat costs a few dictionary operations and a filtered list costs
its matches, not the whole registry. What ``bench/README.md`` ("the registry") measured it
for: 1,522 heartbeats/s and ~15 ms per filtered list at 3,000 instances before.

* ``Entry`` is mutable (a heartbeat moves two floats in place); ``record()`` builds the
  contract's ``AgentRecord`` when a caller wants the model, and ``json()`` renders the same
  record from the descriptor's JSON, encoded once per registration.
* Leases: one heap item per instance, keyed by when it next needs a look (its lease end
  while passing, its reap time while critical). A heartbeat does not touch the heap: an
  item that comes due for a renewed lease is pushed again at the new deadline, so the heap
  stays one item per instance and a sweep costs what is due.
* Selections: which entries a filter picks changes only when an entry is put or removed
  or changes status, and each of those bumps the registry index; so ``select`` keeps its
  answer per filter (at most ``SELECTIONS`` filters) for as long as the index and this
  index's own count of puts and removals stay the same. What it keeps are the entries
  themselves, whose JSON a heartbeat renews in place, so a kept selection is never stale.
* The journal keeps, for the last ``JOURNAL`` index bumps, which instances each one
  changed, so a watcher at index N gets the records changed since N (``changes``) instead
  of the whole registry; older than the journal, it gets everything.
"""

from __future__ import annotations

import heapq
import json
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from mesh_contracts import AgentDescriptor, AgentRecord, HealthStatus, InstanceLoad
from mesh_discovery.registry import AgentFilter, json_string

JOURNAL = 65_536  # index bumps remembered for deltas (each one instance id or a few)
SELECTIONS = 1_024  # filtered selections kept (``select``); emptied when full


def _num(value: float | None) -> str:
    return "null" if value is None else repr(float(value))


@dataclass(slots=True, eq=False)
class Entry:
    """One instance. ``ttl_seconds`` None: declared in the agents file (no lease).
    Changed only through ``renew``, ``lapse`` and ``set_load`` (they drop its JSON)."""

    descriptor: AgentDescriptor
    status: HealthStatus
    registered_at: float
    last_heartbeat: float
    lease_expires_at: float | None
    ttl_seconds: float | None
    source: str
    load: InstanceLoad | None = None
    _head: str = field(default="", repr=False)  # '{"descriptor":{...},"status":"'
    _source: str = field(default="", repr=False)  # the source as a JSON string
    _load_json: str | None = field(default="null", repr=False)  # None: not yet encoded
    _json: str | None = field(default=None, repr=False)  # json(), until the next change
    _lease: str = field(default="", repr=False)  # '{"instance_id":..,"expires_at":'

    def __post_init__(self) -> None:
        self._head = f'{{"descriptor":{self.descriptor.model_dump_json()},"status":"'
        self._source = json.dumps(self.source)
        if self.ttl_seconds is not None:
            self._lease = (
                f'{{"instance_id":{json_string(self.instance_id)},'
                f'"ttl_seconds":{float(self.ttl_seconds)!r},"expires_at":'
            )
        self.set_load(self.load)

    @property
    def instance_id(self) -> str:
        return self.descriptor.instance_id

    def set_load(self, load: InstanceLoad | None) -> None:
        """A new load report; encoded when a read first wants the record's JSON (a worker
        reports its load with every heartbeat, far more often than it is read)."""
        self.load = load
        self._load_json = "null" if load is None else None
        self._json = None

    def renew(self, now: float) -> None:
        """A heartbeat at ``now``: passing, with a lease of ``ttl_seconds`` from now."""
        assert self.ttl_seconds is not None
        self.status = HealthStatus.PASSING
        self.last_heartbeat = now
        self.lease_expires_at = now + self.ttl_seconds
        self._json = None

    def lease_json(self, index: int) -> bytes:
        """``registry.lease_body`` of this entry's lease at ``index`` (a heartbeat's answer),
        from the part that stays the same while the entry lives (a test holds them equal)."""
        return f'{self._lease}{float(self.lease_expires_at or 0)!r},"index":{index}}}'.encode()

    def lapse(self) -> None:
        self.status = HealthStatus.CRITICAL
        self._json = None

    def record(self) -> AgentRecord:
        return AgentRecord.model_construct(
            descriptor=self.descriptor,
            status=self.status,
            registered_at=self.registered_at,
            last_heartbeat=self.last_heartbeat,
            lease_expires_at=self.lease_expires_at,
            source=self.source,
            load=self.load,
        )

    def json(self) -> str:
        """The record as ``AgentRecord.model_dump_json()`` gives it (a test holds them
        equal), from the descriptor's JSON encoded at registration; kept until the entry
        changes (a list of records that did not change costs a join)."""
        if self._json is None:
            if self._load_json is None:
                self._load_json = "null" if self.load is None else self.load.model_dump_json()
            self._json = (
                f'{self._head}{self.status}","registered_at":{float(self.registered_at)!r},'
                f'"last_heartbeat":{float(self.last_heartbeat)!r},'
                f'"lease_expires_at":{_num(self.lease_expires_at)},'
                f'"source":{self._source},"load":{self._load_json}}}'
            )
        return self._json


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed after an index: ``upserts`` (current entries) and ``removals`` (ids);
    ``full`` when the journal does not reach back that far (``upserts`` is then everything
    and a reader drops what it had)."""

    index: int
    full: bool
    upserts: list[Entry]
    removals: list[str]


class RegistryIndex:
    """The entries and their lookups. Not thread-safe: one event loop owns it."""

    def __init__(self, reap_after_seconds: float) -> None:
        self.reap_after_seconds = reap_after_seconds
        self._entries: dict[str, Entry] = {}
        self._by: dict[str, dict[str, set[str]]] = {"agent": {}, "capability": {}, "tag": {}}
        self._order: list[str] | None = []  # ids by (agent_id, instance_id); None: stale
        self._heap: list[tuple[float, str]] = []
        self._journal: deque[tuple[int, str]] = deque(maxlen=JOURNAL)
        self._journal_floor = 0  # deltas are known for any index >= this
        self._layout = 0  # puts and removals so far (a kept selection's key)
        self._selections: dict[AgentFilter | None, tuple[int, int, list[Entry]]] = {}
        self.selection_hits = 0  # selections answered from what was kept (tests read it)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, instance_id: str) -> bool:
        return instance_id in self._entries

    def get(self, instance_id: str) -> Entry | None:
        return self._entries.get(instance_id)

    def entries(self) -> Iterable[Entry]:
        return self._entries.values()

    # -- changes ---------------------------------------------------------------------------

    def _keys(self, d: AgentDescriptor) -> Iterator[tuple[str, str]]:
        yield "agent", d.agent_id
        for c in d.capabilities:
            yield "capability", c
        for t in d.tags:
            yield "tag", t

    def put(self, entry: Entry) -> None:
        """Add or replace ``entry`` (by instance id)."""
        iid = entry.instance_id
        old = self._entries.get(iid)
        if old is not None:
            self._unlink(old)
        self._entries[iid] = entry
        self._layout += 1
        for kind, key in self._keys(entry.descriptor):
            self._by[kind].setdefault(key, set()).add(iid)
        if old is None or old.descriptor.agent_id != entry.descriptor.agent_id:
            self._order = None  # a new key, or one that sorts elsewhere
        self.schedule(entry)

    def remove(self, instance_id: str) -> Entry | None:
        entry = self._entries.pop(instance_id, None)
        if entry is not None:
            self._unlink(entry)
            self._order = None
            self._layout += 1
        return entry

    def _unlink(self, entry: Entry) -> None:
        for kind, key in self._keys(entry.descriptor):
            ids = self._by[kind].get(key)
            if ids is not None:
                ids.discard(entry.instance_id)
                if not ids:
                    del self._by[kind][key]

    def schedule(self, entry: Entry) -> None:
        """Put ``entry``'s next look in the heap (a new lease; a lapse)."""
        due = self._due(entry)
        if due is not None:
            heapq.heappush(self._heap, (due, entry.instance_id))

    def _due(self, entry: Entry) -> float | None:
        if entry.ttl_seconds is None or entry.lease_expires_at is None:
            return None
        if entry.status is HealthStatus.PASSING:
            return entry.lease_expires_at
        return entry.lease_expires_at + self.reap_after_seconds

    def due(self, now: float) -> Iterator[Entry]:
        """Entries whose lease ran out (or that stayed critical past the reap time) by
        ``now``; renewed leases met on the way are pushed again at their new deadline.
        The caller lapses or removes each one it is given (then ``schedule``s a lapse)."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            at, iid = heapq.heappop(heap)
            entry = self._entries.get(iid)
            if entry is None:
                continue
            due = self._due(entry)
            if due is None:
                continue
            if due > now:
                if due != at:
                    heapq.heappush(heap, (due, iid))
                continue
            yield entry

    def record_change(self, index: int, instance_ids: Iterable[str]) -> None:
        """Note that ``index`` changed these instances (upserted or removed)."""
        journal = self._journal
        for iid in instance_ids:
            if len(journal) == journal.maxlen:
                self._journal_floor = journal[0][0]
            journal.append((index, iid))

    def start_journal(self, index: int) -> None:
        """Deltas are known from ``index`` on (at open: nothing before it)."""
        self._journal.clear()
        self._journal_floor = index

    def changes(self, since: int, index: int) -> Changes:
        """What changed after ``since`` up to ``index`` (the current one)."""
        if since < self._journal_floor or since > index:
            return Changes(index, True, self.select(None), [])
        changed: dict[str, None] = {}
        for at, iid in reversed(self._journal):
            if at <= since:
                break
            changed[iid] = None
        upserts: list[Entry] = []
        removals: list[str] = []
        for iid in changed:
            entry = self._entries.get(iid)
            if entry is None:
                removals.append(iid)
            else:
                upserts.append(entry)
        upserts.sort(key=_order_key)
        return Changes(index, False, upserts, sorted(removals))

    # -- reads -----------------------------------------------------------------------------

    def select(self, filters: AgentFilter | None, index: int | None = None) -> list[Entry]:
        """Entries matching ``filters``, by (agent_id, instance_id): candidates come from
        the smallest of the lookups the filter names. With ``index`` (the registry's
        current one) the answer is kept and given again while neither ``index`` nor the
        entries put or removed change (the module says why that is exact); the caller
        must not change the list it gets."""
        if index is None:
            return self._select(filters)
        kept = self._selections.get(filters)
        if kept is not None and kept[0] == index and kept[1] == self._layout:
            self.selection_hits += 1
            return kept[2]
        chosen = self._select(filters)
        if len(self._selections) >= SELECTIONS:
            self._selections.clear()
        self._selections[filters] = (index, self._layout, chosen)
        return chosen

    def _select(self, filters: AgentFilter | None) -> list[Entry]:
        f = filters or AgentFilter()
        pools = [
            self._by[kind].get(key, set())
            for kind, key in (("capability", f.capability), ("tag", f.tag), ("agent", f.agent_id))
            if key is not None
        ]
        if not pools:
            chosen = [self._entries[iid] for iid in self._sorted()]
        else:
            pool = min(pools, key=len)
            chosen = sorted((self._entries[iid] for iid in pool), key=_order_key)
        keep = [e for e in chosen if _matches(f, e)] if _narrows(f, len(pools)) else chosen
        return keep

    def _sorted(self) -> list[str]:
        if self._order is None:
            self._order = sorted(self._entries, key=lambda i: _order_key(self._entries[i]))
        return self._order


def _order_key(e: Entry) -> tuple[str, str]:
    return e.descriptor.agent_id, e.descriptor.instance_id


def _narrows(f: AgentFilter, pools: int) -> bool:
    """Whether entries of the chosen pool still need checking against the filter."""
    return pools > 1 or f.healthy is not None


def _matches(f: AgentFilter, e: Entry) -> bool:
    d = e.descriptor
    if f.capability is not None and f.capability not in d.capabilities:
        return False
    if f.tag is not None and f.tag not in d.tags:
        return False
    if f.agent_id is not None and f.agent_id != d.agent_id:
        return False
    return f.healthy is None or f.healthy == (e.status is HealthStatus.PASSING)
