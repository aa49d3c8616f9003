"""Self-registration with the discovery service: register, heartbeat, deregister.

Framework-free (httpx, and tenacity for the retries). ``Registrar.start`` runs a
background task that registers with capped exponential backoff until discovery answers,
then heartbeats within the lease (a failed heartbeat is retried sooner than the interval),
registering again whenever discovery no longer knows the instance (404: it restarted or
reaped us). ``Registrar.stop`` ends the task and deregisters. Discovery being down is
logged, never raised: a worker serves whether or not it is registered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from urllib.parse import quote

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    wait_exponential,
    wait_fixed,
)

from mesh_contracts import AgentDescriptor, HeartbeatRequest, InstanceLoad, Lease, RegisterRequest

log = logging.getLogger(__name__)

# How long a pooled connection to discovery is reused after its last answer: under uvicorn's
# keep-alive timeout (5 s, discovery's), as ``mesh_auth.dialing.KEEPALIVE_EXPIRY`` (4 s) is
# for the orchestrator's pools. httpx's default is the server's own 5 s, and a worker
# heartbeats every third of its lease (5 s by default), so a heartbeat could go out on a
# connection just as discovery closes it and read ``ReadError`` (a failed heartbeat, retried
# after the backoff). The value is that constant's; it is not imported from there because
# ``mesh_auth.dialing`` loads httpx2 and httpcore2 (55-290 ms of every worker's start) for
# one number (test_worker_registration holds the two equal).
KEEPALIVE_EXPIRY = 4.0


def discovery_client(
    auth: httpx.Auth | None = None, verify: ssl.SSLContext | bool = True
) -> httpx.AsyncClient:
    """The HTTP client a worker registers and heartbeats with (``create_worker_app``'s
    lifespan makes and closes it): 5 s timeouts, pooled connections let go after
    ``KEEPALIVE_EXPIRY``, ``auth`` on every request."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(5.0),
        limits=httpx.Limits(
            max_connections=100, max_keepalive_connections=20, keepalive_expiry=KEEPALIVE_EXPIRY
        ),
        auth=auth,
        verify=verify,
    )


class Registrar:
    """Keeps one instance registered while it runs.

    ``describe`` is called before every registration, so a re-registration carries the
    worker's current descriptor. ``client`` is owned by the caller (created and closed in the
    app's lifespan). ``registered`` is set while discovery holds a lease for the instance.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        discovery_url: str,
        describe: Callable[[], AgentDescriptor],
        *,
        ttl_seconds: float = 15.0,
        heartbeat_interval: float | None = None,
        backoff_initial: float = 0.2,
        backoff_max: float = 5.0,
        load: Callable[[], InstanceLoad] | None = None,
    ) -> None:
        self._client = client
        self._load = load
        self._base = discovery_url.rstrip("/")
        self._describe = describe
        self.ttl_seconds = ttl_seconds
        self.heartbeat_interval = heartbeat_interval or ttl_seconds / 3
        self._backoff_initial = backoff_initial
        # Never back off past the heartbeat interval: a retry must still land within the lease.
        self._backoff_max = min(backoff_max, self.heartbeat_interval)
        self.registered = asyncio.Event()
        self.lease: Lease | None = None
        self.registrations = 0
        self._instance_id: str | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin registering in the background (returns at once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="mesh-worker-registrar")

    async def stop(self, grace: float = 3.0) -> None:
        """Stop heartbeating and deregister (``DELETE``), waiting at most ``grace`` seconds."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._instance_id is None:
            return
        self.registered.clear()
        try:
            resp = await self._client.delete(self._url(self._instance_id), timeout=grace)
            if resp.status_code not in (204, 404):
                log.warning(
                    "deregister %s: discovery answered %s", self._instance_id, resp.status_code
                )
            else:
                log.info("deregistered %s from %s", self._instance_id, self._base)
        except httpx.HTTPError as exc:
            log.warning("deregister %s failed: %s", self._instance_id, _why(exc))

    async def _run(self) -> None:
        while True:
            await self._register_until_done()
            await self._heartbeat_until_lost()

    async def _register_until_done(self) -> None:
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_FAILURES),
            wait=wait_exponential(multiplier=self._backoff_initial, max=self._backoff_max),
            before_sleep=self._log_failure("cannot register with discovery"),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await self._register()

    async def _register(self) -> None:
        descriptor = self._describe()
        body = RegisterRequest(descriptor=descriptor, ttl_seconds=self.ttl_seconds)
        resp = await self._client.post(
            f"{self._base}/v1/agents", content=body.model_dump_json(), headers=_JSON
        )
        resp.raise_for_status()
        self.lease = Lease.model_validate_json(resp.content)
        self._instance_id = descriptor.instance_id
        self.registrations += 1
        self.registered.set()
        log.info(
            "registered %s at %s (lease %gs)", descriptor.instance_id, self._base, self.ttl_seconds
        )

    async def _heartbeat_until_lost(self) -> None:
        """Heartbeat every interval; return when discovery answers 404 (register again).

        A failed heartbeat is retried every ``backoff_max`` seconds (sooner than the
        interval, so a short outage does not lapse the lease) until one gets through."""
        assert self._instance_id is not None
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_FAILURES),
            wait=wait_fixed(self._backoff_max),
            before_sleep=self._log_failure(f"heartbeat for {self._instance_id} failed"),
            reraise=True,
        )
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                async for attempt in retrying:
                    with attempt:
                        await self._heartbeat(self._instance_id)
            except _Forgotten:
                log.warning("discovery forgot %s; registering again", self._instance_id)
                self.registered.clear()
                return

    async def _heartbeat(self, instance_id: str) -> None:
        body = None
        if self._load is not None:  # routers spread calls by it (power of two choices)
            body = HeartbeatRequest(load=self._load()).model_dump(mode="json", exclude_none=True)
        resp = await self._client.put(self._url(instance_id) + "/heartbeat", json=body)
        if resp.status_code == 404:
            raise _Forgotten
        resp.raise_for_status()
        self.lease = Lease.model_validate_json(resp.content)
        self.registered.set()

    def _log_failure(self, what: str) -> Callable[[RetryCallState], None]:
        def log_it(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            delay = state.next_action.sleep if state.next_action is not None else 0.0
            why = _why(exc) if isinstance(exc, Exception) else "?"
            log.warning("%s at %s (%s); retrying in %.1fs", what, self._base, why, delay)

        return log_it

    def _url(self, instance_id: str) -> str:
        return f"{self._base}/v1/agents/{quote(instance_id, safe='')}"


_JSON = {"Content-Type": "application/json"}
_FAILURES = (httpx.HTTPError, ValueError)  # unreachable, refused, or an answer we cannot read


class _Forgotten(Exception):
    """Discovery answered 404 to a heartbeat: it no longer holds the instance."""


def _why(exc: Exception) -> str:
    if isinstance(exc, httpx.HTTPStatusError):  # discovery refused: say what it said
        return f"{exc.response.status_code} {exc.response.text[:300]}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
