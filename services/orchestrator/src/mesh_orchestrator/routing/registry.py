"""The orchestrator's view of the registry: a cache of agent records kept fresh by a watch.

``DiscoveryClient.watch()`` runs for the life of the app: a Consul-style blocking query on
``GET /v1/changes?index=N&wait=...`` that returns as soon as the registry changes, with what
changed after index N (the records upserted and the ids removed), which the cache applies;
discovery sends the whole registry instead (``full``) when it no longer knows the changes
since N, and a discovery without that route (404) is followed with blocking queries on
``GET /v1/agents`` (the whole list each time) instead. The first read is a whole list. When
discovery is down, the last known records stay in use (``reachable`` turns False) and the
watch retries with a jittered exponential back-off (tenacity). The planner's manifest is built from the same cache, so
planning and resolving never disagree about what exists.

A run may also read discovery itself (``sync``, one per run: ``RunRead``): a conditional GET
(``If-None-Match`` with the cached index's tag) that discovery answers with 304 and no body
while nothing changed. A run whose cache cannot place a task (an instance registered a
moment ago, a watch in back-off) makes that read and takes its answer before it replans or
fails. A traced run makes it at its start, alongside planning, in its trace (the trace then
goes from the run through discovery to the workers, and shows whether the cache the run
routed from was behind discovery), and never waits for it otherwise. An untraced run whose
cache suffices makes none: a read costs a run ~1.5 ms of first token and of CPU
(bench/README.md, "each run's read of discovery"); ``ORCH_REGISTRY_READ=always`` pays that.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping

import httpx
from pydantic import TypeAdapter, ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_result,
    wait_exponential_jitter,
)

from mesh_contracts import (
    AgentDescriptor,
    AgentRecord,
    CapabilitiesManifest,
    RegistryChanges,
    build_manifest,
)

log = logging.getLogger(__name__)
_records = TypeAdapter(list[AgentRecord])
MAX_RETRY_SECONDS = 10.0  # the longest wait between two tries while discovery is down


def _unanswered(answered: bool) -> bool:
    return not answered


def _log_crash(state: RetryCallState) -> None:
    """Before sleeping: an exception (a bug, since ``refresh`` turns every failure of
    discovery into False) is logged; the watch carries on."""
    if state.outcome is not None and state.outcome.failed:
        log.error("discovery watch failed; retrying", exc_info=state.outcome.exception())


class Sync(enum.StrEnum):
    """How one per-run read of discovery went."""

    CURRENT = "current"  # 304: the cache was up to date
    CHANGED = "changed"  # a newer registry, now in the cache
    UNREACHABLE = "unreachable"  # no answer in time: the cache stays as it was
    SKIPPED = "skipped"  # the watch already knows discovery is down: not tried


def entity_tag(index: int) -> str:
    """Discovery's ``ETag`` for a read at ``index`` (``mesh_discovery.api.entity_tag``)."""
    return f'"{index}"'


class DiscoveryClient:
    """Cached registry. Callers read ``records``/``healthy()``/``manifest()``; never block."""

    def __init__(
        self,
        base_url: str,
        http: httpx.AsyncClient,
        *,
        wait_seconds: float = 30.0,
        retry_seconds: float = 1.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.wait_seconds = wait_seconds
        self.retry_seconds = retry_seconds
        self.records: list[AgentRecord] = []
        self.index = 0
        self.reachable = False
        self.loaded = False  # at least one successful answer since start
        self.changed = asyncio.Event()  # set on every applied update (tests wait on it)
        self.reads: Counter[Sync] = Counter()  # the runs' reads by outcome (metrics)
        self.deltas = True  # discovery serves GET /v1/changes (False after a 404)
        # The last manifest, with the (records, index) it was built of.
        self._manifest: tuple[tuple[list[AgentRecord], int], CapabilitiesManifest] | None = None

    def set_records(self, records: list[AgentRecord], index: int) -> None:
        """Replace the cache (used by the watch, and by tests with fake data)."""
        self.records = records
        self.index = index
        self.loaded = True
        self.changed.set()
        self.changed = asyncio.Event()

    async def _read(
        self, params: dict[str, str], seconds: float, headers: Mapping[str, str] | None = None
    ) -> tuple[list[AgentRecord] | None, int]:
        """One ``GET /v1/agents``, conditional on the cached index once something is cached:
        (records, index), records None when discovery answered 304 (nothing changed).
        Raises what the request or the body raises."""
        sent = dict(headers or {})
        if self.loaded:
            sent["If-None-Match"] = entity_tag(self.index)
        resp = await self.http.get(
            f"{self.base_url}/v1/agents", params=params, headers=sent, timeout=seconds
        )
        index = int(resp.headers.get("X-Mesh-Index", self.index))
        if resp.status_code == 304:
            return None, index
        resp.raise_for_status()
        return _records.validate_python(resp.json()), index

    def _apply(self, records: list[AgentRecord] | None, index: int) -> bool:
        """Take an answer into the cache unless it is older than the cache (a run's read
        and the watch may cross). Returns whether the cache changed."""
        if records is None or index < self.index:
            return False
        if index != self.index or not self.loaded or records != self.records:
            self.set_records(records, index)
            return True
        return False

    def _merge(self, changes: RegistryChanges) -> bool:
        """Apply a watch's answer: the whole registry when ``full``, else its upserts and
        removals over the cached records. Dropped when older than the cache (a run's read
        may have taken a newer registry meanwhile; applying changes since an older index
        to a newer cache is safe, since upserts are current records). Returns whether the
        cache changed."""
        if changes.index < self.index:
            return False
        if changes.full:
            return self._apply(changes.upserts, changes.index)
        if not changes.upserts and not changes.removals:
            if changes.index != self.index:
                self.index = changes.index
            return False
        by_id = {r.descriptor.instance_id: r for r in self.records}
        for iid in changes.removals:
            by_id.pop(iid, None)
        for r in changes.upserts:
            by_id[r.descriptor.instance_id] = r
        order = sorted(
            by_id.values(), key=lambda r: (r.descriptor.agent_id, r.descriptor.instance_id)
        )
        self.set_records(order, changes.index)
        return True

    async def follow(self, request_timeout: float) -> bool:
        """One blocking query for the changes after the cached index (``GET /v1/changes``).
        Returns True when discovery answered."""
        params = {"index": str(self.index), "wait": f"{self.wait_seconds:g}s"}
        headers = {"If-None-Match": entity_tag(self.index)}
        try:
            resp = await self.http.get(
                f"{self.base_url}/v1/changes", params=params, headers=headers,
                timeout=request_timeout,
            )  # fmt: skip
            if resp.status_code == 404:  # a discovery from before the route: whole lists
                log.info("discovery at %s has no /v1/changes; watching whole lists", self.base_url)
                self.deltas = False
                return True
            if resp.status_code != 304:
                resp.raise_for_status()
                self._merge(RegistryChanges.model_validate_json(resp.content))
        except (httpx.HTTPError, ValidationError, ValueError) as exc:
            if self.reachable:
                log.warning("discovery at %s unreachable: %s", self.base_url, exc)
            self.reachable = False
            return False
        self.reachable = True
        return True

    async def refresh(self, *, index: int | None = None, request_timeout: float = 5.0) -> bool:
        """One (possibly blocking) query. Returns True when discovery answered."""
        params: dict[str, str] = {}
        if index is not None:
            params = {"index": str(index), "wait": f"{self.wait_seconds:g}s"}
        try:
            records, new_index = await self._read(params, request_timeout)
        except (httpx.HTTPError, ValidationError, ValueError) as exc:
            if self.reachable or not self.loaded:
                log.warning("discovery at %s unreachable: %s", self.base_url, exc)
            self.reachable = False
            return False
        self.reachable = True
        self._apply(records, new_index)
        return True

    async def sync(self, seconds: float, headers: Mapping[str, str] | None = None) -> Sync:
        """A run's read of discovery (non-blocking, conditional, at most ``seconds``
        seconds; ``headers`` carry the run's trace context). Never raises but for
        cancellation; the watch alone decides whether discovery is reachable."""
        outcome = await self._sync(seconds, headers)
        self.reads[outcome] += 1
        return outcome

    async def _sync(self, seconds: float, headers: Mapping[str, str] | None) -> Sync:
        if self.loaded and not self.reachable:
            return Sync.SKIPPED
        try:
            records, index = await self._read({}, seconds, headers)
        except (httpx.HTTPError, ValidationError, ValueError) as exc:
            log.debug("a run's read of discovery failed: %s", exc)
            return Sync.UNREACHABLE
        return Sync.CHANGED if self._apply(records, index) else Sync.CURRENT

    async def watch(self) -> None:
        """Follow the registry until cancelled. Never raises (except CancelledError).

        While discovery is down the cached records stay in use and the query is tried
        again after ``retry_seconds``, then twice as long each time (plus up to
        ``retry_seconds`` of jitter, so replicas do not retry in step), at most
        ``MAX_RETRY_SECONDS``; the first answer ends the back-off and the next outage starts
        it afresh. Once the cache is fresh each query blocks until the registry changes."""
        while True:
            backoff = AsyncRetrying(
                retry=retry_if_result(_unanswered) | retry_if_exception_type(Exception),
                wait=wait_exponential_jitter(
                    multiplier=self.retry_seconds,
                    max=MAX_RETRY_SECONDS,
                    jitter=self.retry_seconds,
                ),
                before_sleep=_log_crash,
            )
            await backoff(self._query)

    async def _query(self) -> bool:
        """One query: a whole list at first (and after an outage), then blocking queries
        for what changed after the cached index."""
        timeout = self.wait_seconds + 10.0
        if not (self.loaded and self.reachable):
            return await self.refresh(request_timeout=timeout)
        if self.deltas:
            return await self.follow(timeout)
        return await self.refresh(index=self.index, request_timeout=timeout)

    @property
    def status(self) -> str:
        if self.reachable:
            return "ok"
        return "unreachable (using cached registry)"

    def healthy(self) -> list[AgentDescriptor]:
        """Descriptors of every passing instance, in registry order."""
        return [r.descriptor for r in self.records if r.healthy]

    def manifest(self) -> CapabilitiesManifest:
        """The planner's manifest, built from the cached healthy instances: once per
        state of the cache (its records are replaced whole, never changed in place; a
        planned run asked for it anew, ~30 us a run)."""
        key = (self.records, self.index)
        made = self._manifest
        if made is None or made[0][0] is not key[0] or made[0][1] != key[1]:
            made = self._manifest = (
                key,
                build_manifest([r for r in self.records if r.healthy], self.index),
            )
        return made[1]


class RunRead:
    """One run's read of discovery, made at most once: at the run's start (``start``) or
    when resolving needs it (``wait``, which starts it if need be). ``pending`` holds the
    reads in flight (a read outlives a run that ends first, bounded by its timeout)."""

    def __init__(
        self, read: Callable[[], Awaitable[object]], pending: set[asyncio.Future[object]]
    ) -> None:
        self._read, self._pending = read, pending
        self._future: asyncio.Future[object] | None = None

    def start(self) -> asyncio.Future[object]:
        if self._future is None:
            self._future = asyncio.ensure_future(self._read())
            self._pending.add(self._future)
            self._future.add_done_callback(self._pending.discard)
        return self._future

    async def wait(self) -> None:
        """Until the read has ended (it never raises but for cancellation)."""
        await asyncio.wait({self.start()})
