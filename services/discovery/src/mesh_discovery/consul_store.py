"""The production registry store: Consul agent services with TTL checks (py-consul).

Mapping:
- an instance is a Consul agent service named ``service`` (``mesh-agent``) with
  ``ID = instance_id``, tags ``cap:<capability>``, ``agent:<agent_id>``, ``tag:<tag>`` and
  one TTL check ``mesh-lease:<instance_id>`` (the lease; registered passing). A heartbeat is
  ``PUT /v1/agent/check/pass``; Consul marks the check critical when the TTL lapses and
  deregisters the service after ``DeregisterCriticalServiceAfter`` (Consul's minimum is 1m).
  File-declared agents are services with no check, which Consul reports passing.
- the full descriptor is a JSON document in the KV store at ``<kv_prefix>/<instance_id>``
  (service meta values are capped at 512 characters); a hash of it in the service meta makes
  a changed descriptor a catalog change.
- our index is Consul's ``X-Consul-Index`` of ``/v1/health/service/<service>``: it moves on
  register, deregister and check status changes, and not on a TTL pass that keeps a passing
  check passing. Blocking queries map straight onto Consul's ``index``/``wait``.

py-consul's asyncio client needs aiohttp, which the mesh does not ship, so the synchronous
client runs in threads: short calls in the default pool, long polls in a pool of their own.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit

import consul

from mesh_contracts import AgentDescriptor, AgentRecord, HealthStatus, InstanceLoad, Lease
from mesh_discovery.registry import (
    SOURCE_API,
    SOURCE_FILE,
    AgentFilter,
    Clock,
    DeclaredInstance,
    StoreCounts,
    StoreUnavailable,
    UnknownInstance,
    changes_body,
    list_body,
    select,
)

T = TypeVar("T")
_GC_INTERVAL_SECONDS = 30.0


class ConsulStore:
    """``Store`` over a Consul agent at ``url`` (e.g. ``http://127.0.0.1:8500``)."""

    name = "consul"

    def __init__(
        self,
        url: str = "http://127.0.0.1:8500",
        *,
        service: str = "mesh-agent",
        kv_prefix: str = "mesh/agents",
        reap_after_seconds: float = 300.0,
        clock: Clock = time.time,
        token: str | None = None,
    ) -> None:
        parts = urlsplit(url if "//" in url else f"//{url}")
        self.url = url
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 8500
        self._scheme = parts.scheme or "http"
        self.service = service
        self._token = token  # Consul ACL token; never logged
        self.kv_prefix = kv_prefix.strip("/")
        self.reap_after_seconds = reap_after_seconds
        self._clock = clock
        self._client = self._new_client()
        self._polls = ThreadPoolExecutor(max_workers=64, thread_name_prefix="consul-watch")
        # Consul keeps no heartbeat time; what this process saw is the best it can report.
        self._last_beat: dict[str, float] = {}
        # Consul lapses and reaps by its TTL checks: only calls are counted here.
        self.counts = StoreCounts(counts_lapses=False)
        self._load: dict[str, InstanceLoad] = {}
        self._ttl: dict[str, float] = {}
        self._last_gc = float("-inf")

    def _new_client(self) -> Any:
        return consul.Consul(
            host=self._host, port=self._port, scheme=self._scheme, token=self._token
        )

    async def _call(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        try:
            return await asyncio.to_thread(fn, *args, **kw)
        except consul.ConsulException as exc:
            raise StoreUnavailable(f"Consul at {self.url}: {exc}") from exc
        except OSError as exc:  # requests' ConnectionError and timeouts derive from OSError
            raise StoreUnavailable(f"Consul at {self.url} is unreachable: {exc}") from exc

    def _key(self, instance_id: str) -> str:
        return f"{self.kv_prefix}/{instance_id}"

    @staticmethod
    def _check_id(instance_id: str) -> str:
        return f"mesh-lease:{instance_id}"

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        await self._call(self._client.agent.self)

    async def close(self) -> None:
        self._polls.shutdown(wait=False, cancel_futures=True)

    # -- KV documents ----------------------------------------------------------------------

    async def _doc(self, instance_id: str) -> dict[str, Any] | None:
        _, item = await self._call(self._client.kv.get, self._key(instance_id))
        if not item or item.get("Value") is None:
            return None
        doc: dict[str, Any] = json.loads(item["Value"])
        return doc

    async def _docs(self) -> dict[str, dict[str, Any]]:
        _, items = await self._call(self._client.kv.get, self.kv_prefix + "/", recurse=True)
        docs: dict[str, dict[str, Any]] = {}
        for item in items or []:
            if item.get("Value"):
                docs[item["Key"].rsplit("/", 1)[-1]] = json.loads(item["Value"])
        return docs

    async def _put(self, descriptor: AgentDescriptor, source: str, ttl: float | None) -> None:
        old = await self._doc(descriptor.instance_id)
        doc = {
            "descriptor": descriptor.model_dump(mode="json"),
            "registered_at": old["registered_at"] if old else self._clock(),
            "source": source,
            "ttl_seconds": ttl,
        }
        await self._call(self._client.kv.put, self._key(descriptor.instance_id), json.dumps(doc))

    async def _register_service(self, d: AgentDescriptor, ttl: float | None, source: str) -> None:
        endpoint = urlsplit(d.endpoint) if d.endpoint else None
        tags = [f"agent:{d.agent_id}"] + [f"cap:{c}" for c in d.capabilities]
        tags += [f"tag:{t}" for t in d.tags]
        digest = hashlib.sha256(d.model_dump_json().encode()).hexdigest()[:32]
        check = None
        if ttl is not None:
            check = {
                "CheckID": self._check_id(d.instance_id),
                "Name": "mesh lease",
                "TTL": f"{max(1, round(ttl * 1000))}ms",
                "Status": "passing",
                "DeregisterCriticalServiceAfter": f"{max(60, round(self.reap_after_seconds))}s",
            }
        await self._call(
            self._client.agent.service.register,
            self.service,
            service_id=d.instance_id,
            address=endpoint.hostname if endpoint else None,
            port=endpoint.port if endpoint else None,
            tags=tags,
            meta={"agent_id": d.agent_id, "source": source, "descriptor_sha": digest},
            check=check,
            replace_existing_checks=True,
        )

    # -- writes ----------------------------------------------------------------------------

    async def register(self, descriptor: AgentDescriptor, ttl_seconds: float) -> Lease:
        iid = descriptor.instance_id
        self.counts.registrations += 1
        await self._put(descriptor, SOURCE_API, ttl_seconds)
        await self._register_service(descriptor, ttl_seconds, SOURCE_API)
        # Re-registering an existing check keeps its status; a pass makes the renewal explicit.
        await self._call(self._client.agent.check.ttl_pass, self._check_id(iid))
        now = self._clock()
        self._last_beat[iid], self._ttl[iid] = now, ttl_seconds
        return Lease(
            instance_id=iid, ttl_seconds=ttl_seconds, expires_at=now + ttl_seconds,
            index=await self.index(),
        )  # fmt: skip

    async def declare(self, descriptors: Iterable[AgentDescriptor]) -> None:
        wanted = {d.instance_id: d for d in descriptors}
        docs = await self._docs()
        for iid, d in wanted.items():
            old = docs.get(iid)
            if (
                old
                and old["source"] == SOURCE_FILE
                and old["descriptor"] == d.model_dump(mode="json")
            ):
                continue
            await self._put(d, SOURCE_FILE, None)
            await self._register_service(d, None, SOURCE_FILE)
        for iid, doc in docs.items():
            if doc["source"] == SOURCE_FILE and iid not in wanted:
                await self._remove(iid)

    async def heartbeat(self, instance_id: str, load: InstanceLoad | None = None) -> Lease:
        # Load reports stay in this process's memory (Consul's index does not move for
        # them): the records this store lists carry the last one it received.
        self.counts.heartbeats += 1
        if load is not None:
            self._load[instance_id] = load
        try:
            passed = await self._call(
                self._client.agent.check.ttl_pass, self._check_id(instance_id)
            )
        except StoreUnavailable as exc:
            # Older Consul answers 500 "Unknown check ID" / "does not have associated TTL".
            if "check" not in str(exc).lower():
                raise
            passed = False
        ttl = self._ttl.get(instance_id)
        if not passed or ttl is None:
            doc = await self._doc(instance_id)
            if doc is None:
                raise UnknownInstance(instance_id)
            if doc["source"] == SOURCE_FILE:
                raise DeclaredInstance(instance_id)
            if not passed:
                raise UnknownInstance(instance_id)  # the doc outlived its service: reaped
            ttl = float(doc["ttl_seconds"])
        now = self._clock()
        self._last_beat[instance_id], self._ttl[instance_id] = now, ttl
        return Lease(
            instance_id=instance_id, ttl_seconds=ttl, expires_at=now + ttl,
            index=await self.index(),
        )  # fmt: skip

    async def _remove(self, instance_id: str) -> None:
        await self._call(self._client.agent.service.deregister, instance_id)
        await self._call(self._client.kv.delete, self._key(instance_id))
        self._last_beat.pop(instance_id, None)
        self._load.pop(instance_id, None)
        self._ttl.pop(instance_id, None)

    async def deregister(self, instance_id: str) -> None:
        if await self._doc(instance_id) is None:
            raise UnknownInstance(instance_id)
        await self._remove(instance_id)

    async def sweep(self, now: float | None = None) -> int:
        """Consul lapses and reaps on its own; here only orphaned KV documents are removed."""
        now = self._clock() if now is None else now
        if now - self._last_gc < _GC_INTERVAL_SECONDS:
            return 0
        self._last_gc = now
        _, nodes = await self._call(self._client.health.service, self.service)
        live = {n["Service"]["ID"] for n in nodes or []}
        removed = 0
        for iid, doc in (await self._docs()).items():
            # A grace period spares a doc written just before its service registration.
            if iid not in live and now - float(doc["registered_at"]) > _GC_INTERVAL_SECONDS:
                await self._call(self._client.kv.delete, self._key(iid))
                removed += 1
        return removed

    # -- reads -----------------------------------------------------------------------------

    def _record(self, node: dict[str, Any], doc: dict[str, Any]) -> AgentRecord:
        iid = node["Service"]["ID"]
        checks = node.get("Checks") or []
        passing = all(c.get("Status") == "passing" for c in checks)
        ttl = doc.get("ttl_seconds")
        beat = self._last_beat.get(iid, float(doc["registered_at"]))
        return AgentRecord(
            descriptor=AgentDescriptor.model_validate(doc["descriptor"]),
            status=HealthStatus.PASSING if passing else HealthStatus.CRITICAL,
            registered_at=float(doc["registered_at"]),
            last_heartbeat=beat,
            lease_expires_at=None if ttl is None else beat + float(ttl),
            source=doc["source"],
            load=self._load.get(iid),
        )

    async def list(self, filters: AgentFilter | None = None) -> builtins.list[AgentRecord]:
        _, nodes = await self._call(self._client.health.service, self.service)
        docs = await self._docs()
        records = [
            self._record(node, docs[node["Service"]["ID"]])
            for node in nodes or []
            if node["Service"]["ID"] in docs
        ]
        return select(records, filters)

    async def list_json(self, filters: AgentFilter | None = None) -> bytes:
        return list_body(r.model_dump_json() for r in await self.list(filters))

    async def changes_json(self, since: int) -> bytes:
        """Always the whole registry (``full``): Consul keeps no journal of its changes,
        and its index is read before the list, so a reader never holds an index newer
        than what it saw."""
        index = await self.index()
        records = await self.list()
        return changes_body(index, True, (r.model_dump_json() for r in records), [])

    async def agent_of(self, instance_id: str) -> str:
        return (await self.get(instance_id)).descriptor.agent_id

    async def get(self, instance_id: str) -> AgentRecord:
        for record in await self.list(AgentFilter()):
            if record.descriptor.instance_id == instance_id:
                return record
        raise UnknownInstance(instance_id)

    async def index(self) -> int:
        index, _ = await self._call(self._client.health.service, self.service)
        return int(index)

    async def wait_for_change(self, index: int, timeout: float) -> int:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        current = await self.index()
        # Consul blocks until its index exceeds the one given and may wake early with the
        # same index; ours blocks only while they are equal, so loop on our own terms.
        while current == index:
            remaining = deadline - loop.time()
            if remaining <= 0.001:
                break
            poll = partial(
                self._client.health.service,
                self.service,
                index=str(index),
                wait=f"{max(1, round(remaining * 1000))}ms",
            )
            try:
                new, _ = await loop.run_in_executor(self._polls, poll)
            except consul.ConsulException as exc:
                raise StoreUnavailable(f"Consul at {self.url}: {exc}") from exc
            except OSError as exc:
                raise StoreUnavailable(f"Consul at {self.url} is unreachable: {exc}") from exc
            current = int(new)
        return current
