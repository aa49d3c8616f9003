"""The orchestrator's view of the registry: a cache of agent records kept fresh by a watch.

``DiscoveryClient.watch()`` runs for the life of the app: a Consul-style blocking query on
``GET /v1/agents?index=N&wait=...`` that returns as soon as the registry changes. When
discovery is down, the last known records stay in use (``reachable`` turns False) and the
watch retries with a jittered exponential back-off (tenacity). The planner's manifest is built from the same cache, so
planning and resolving never disagree about what exists.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
from pydantic import TypeAdapter, ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_result,
    wait_exponential_jitter,
)

from mesh_contracts import AgentDescriptor, AgentRecord, CapabilitiesManifest, build_manifest

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

    def set_records(self, records: list[AgentRecord], index: int) -> None:
        """Replace the cache (used by the watch, and by tests with fake data)."""
        self.records = records
        self.index = index
        self.loaded = True
        self.changed.set()
        self.changed = asyncio.Event()

    async def refresh(self, *, index: int | None = None, request_timeout: float = 5.0) -> bool:
        """One (possibly blocking) query. Returns True when discovery answered."""
        params: dict[str, str] = {}
        if index is not None:
            params = {"index": str(index), "wait": f"{self.wait_seconds:g}s"}
        try:
            resp = await self.http.get(
                f"{self.base_url}/v1/agents", params=params, timeout=request_timeout
            )
            resp.raise_for_status()
            records = _records.validate_python(resp.json())
            new_index = int(resp.headers.get("X-Mesh-Index", self.index))
        except (httpx.HTTPError, ValidationError, ValueError) as exc:
            if self.reachable or not self.loaded:
                log.warning("discovery at %s unreachable: %s", self.base_url, exc)
            self.reachable = False
            return False
        self.reachable = True
        if new_index != self.index or not self.loaded or records != self.records:
            self.set_records(records, new_index)
        return True

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
        """One query: a blocking one on the cached index once the cache is fresh."""
        blocking = self.index if self.loaded and self.reachable else None
        return await self.refresh(index=blocking, request_timeout=self.wait_seconds + 10.0)

    @property
    def status(self) -> str:
        if self.reachable:
            return "ok"
        return "unreachable (using cached registry)"

    def healthy(self) -> list[AgentDescriptor]:
        """Descriptors of every passing instance, in registry order."""
        return [r.descriptor for r in self.records if r.healthy]

    def manifest(self) -> CapabilitiesManifest:
        """The planner's manifest, built from the cached healthy instances."""
        return build_manifest([r for r in self.records if r.healthy], self.index)
