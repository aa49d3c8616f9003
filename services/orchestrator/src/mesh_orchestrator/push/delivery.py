"""Delivering the webhook outbox: signed POSTs, retried with jittered backoff, at least once.

``Deliverer`` runs on every replica. It takes due deliveries from the outbox with a lease
(``Outbox.claim``; on Postgres ``FOR UPDATE SKIP LOCKED``, so two replicas never post the
same row at once), posts each one, and marks it delivered on a 2xx answer. A failure is
retried within the claim with tenacity's exponential backoff and jitter
(``attempts_per_claim`` tries, each counted in the row before it is posted, the lease
renewed with it: a replica killed mid-retries leaves the count it reached); after that the row is let go until a later time on the
same curve, and given up after ``max_attempts`` tries in all (``last_error`` says why). A
replica that dies holding a row leaves it to its lease: whichever replica looks next (or
this one restarted) posts it. So a receiver may see a delivery twice (a crash after its
2xx, before the row was marked): ``X-Mesh-Delivery`` is the same id each time, for it to
drop the repeat.

What goes out with each POST: the row's body (JSON) and headers; ``X-Mesh-Delivery`` (the
delivery id), ``X-Mesh-Event`` (the run's new status), and with a subscription secret
``X-Mesh-Signature: sha256=<hex HMAC-SHA256 of the body>``. The client dials through the
endpoint policy (``mesh_auth.dialing.pinned_transport``): a URL that resolves to a refused
address fails at connect time like any worker's, before anything is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import logging
import random
import time

import httpx
from tenacity import AsyncRetrying, RetryError, stop_after_attempt, wait_exponential_jitter

from mesh_orchestrator.runs.store.outbox import Delivery, Outbox

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Mesh-Signature"
DELIVERY_HEADER = "X-Mesh-Delivery"
EVENT_HEADER = "X-Mesh-Event"


def signature(secret: str, body: bytes) -> str:
    """The ``X-Mesh-Signature`` value of ``body``: ``sha256=`` and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver checks (constant-time): ``header`` signs ``body`` with ``secret``."""
    return hmac.compare_digest(signature(secret, body), header)


class DeliveryFailed(Exception):
    """A POST that did not get a 2xx answer (or no answer)."""


class Deliverer:
    """The outbox's delivery loop of one replica (see the module docstring)."""

    def __init__(
        self,
        outbox: Outbox,
        http: httpx.AsyncClient,
        *,
        owner: str,
        backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 300.0,
        attempts_per_claim: int = 3,
        max_attempts: int = 12,
        lease_seconds: float = 60.0,
        poll_seconds: float = 2.0,
    ) -> None:
        self.outbox = outbox
        self.http = http
        self.owner = owner
        self.backoff = backoff_seconds
        self.max_backoff = max_backoff_seconds
        self.attempts_per_claim = attempts_per_claim
        self.max_attempts = max_attempts
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._posting: set[asyncio.Task[bool]] = set()
        self._inflight: set[str] = set()  # delivery ids being posted by this replica
        self.delivered = 0  # deliveries this replica completed (tests and metrics)

    def wake(self) -> None:
        """Something was enqueued: look now rather than at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="webhook-deliverer")

    async def stop(self) -> None:
        """Stop posting; rows in flight keep their lease and are taken again after it."""
        tasks = [t for t in (self._task, *self._posting) if t is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()
            self._wake.clear()
            try:
                due = await self.outbox.claim(self.owner, self.lease_seconds)
            except Exception:
                log.exception("could not read the webhook outbox; trying again")
                continue
            for d in due:
                if d.delivery_id in self._inflight:  # ours, being posted right now
                    continue
                self._inflight.add(d.delivery_id)
                task = asyncio.create_task(self._guarded(d), name=f"webhook-{d.delivery_id}")
                self._posting.add(task)
                task.add_done_callback(self._posting.discard)
                task.add_done_callback(functools.partial(self._posted, d.delivery_id))

    def _posted(self, delivery_id: str, _: asyncio.Task[bool]) -> None:
        self._inflight.discard(delivery_id)

    def _wait(self, attempts: int) -> float:
        """The pause after ``attempts`` failed tries: exponential, capped, jittered."""
        base = min(self.max_backoff, self.backoff * float(2 ** max(0, attempts - 1)))
        return base + random.uniform(0, self.backoff)

    async def _guarded(self, d: Delivery) -> bool:
        """``deliver``, with a store error logged: the row's lease lapses and it is taken
        again later."""
        try:
            return await self.deliver(d)
        except Exception:
            log.exception("webhook %s: could not record the delivery", d.delivery_id)
            return False

    async def deliver(self, d: Delivery) -> bool:
        """Post ``d`` (retrying within this claim); True once delivered."""
        attempts = d.attempts
        room = max(1, min(self.attempts_per_claim, self.max_attempts - attempts))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(room),
            wait=wait_exponential_jitter(
                multiplier=self.backoff, max=self.max_backoff, jitter=self.backoff
            ),
            reraise=False,
        )
        error = d.last_error or ""
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    # Stored before the POST: a replica killed mid-retries keeps the count.
                    if not await self.outbox.attempt(
                        d.delivery_id, self.owner, attempts, error or None, self.lease_seconds
                    ):
                        log.warning("webhook %s: taken by another replica", d.delivery_id)
                        return False
                    try:
                        await self._post(d)
                    except DeliveryFailed as exc:
                        error = str(exc)
                        raise
        except RetryError:
            next_at = None if attempts >= self.max_attempts else time.time() + self._wait(attempts)
            log.warning(
                "webhook %s to %s failed %d times (%s)%s",
                d.delivery_id,
                d.url,
                attempts,
                error,
                "; giving up" if next_at is None else "",
            )
            await self.outbox.retry_later(d.delivery_id, attempts, next_at, error)
            return False
        await self.outbox.delivered(d.delivery_id, attempts)
        self.delivered += 1
        return True

    async def _post(self, d: Delivery) -> None:
        body = d.body.encode()
        headers = {
            "Content-Type": "application/json",
            DELIVERY_HEADER: d.delivery_id,
            EVENT_HEADER: d.event,
            **d.headers,
        }
        if d.secret:
            headers[SIGNATURE_HEADER] = signature(d.secret, body)
        try:
            response = await self.http.post(d.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:300]) from None
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"HTTP {response.status_code}")
