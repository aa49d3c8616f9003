"""Who hears of a run's state changes, and what they are sent: rows of the outbox.

The multiplexer calls ``Notifier.changed`` with the runs whose row it just stored in a
state other than ``running`` (completed, partial, failed, cancelled, rejected, interrupted,
awaiting approval, and any parked or final state added later, such as in doubt). Each
subscription of such a run gets one delivery per state (its id derived from the run, the
state, the run's epoch and the subscription, so enqueueing it again is a no-op):

* the run's own webhook (``options.webhook`` ``{url, secret}``), else its owner's default
  webhook (``PUT /v1/webhook``): the mesh's JSON body, signed with the subscription's
  secret (``push.delivery``);
* each A2A push-notification config of the run (``tasks/pushNotificationConfig/set``): a
  body made by the formatter the A2A routes registered (a ``StreamResponse`` with the
  task), its ``token`` in ``X-A2A-Notification-Token`` and its ``authentication`` as
  ``Authorization``.

The multiplexer asks ``deliveries`` for a run's rows before it stores a state other than
``running`` and hands them to ``RunStore.save_run``, which stores the state and its rows in
one transaction: a replica killed at any point stores both or neither (a run whose state was
not stored is taken again by another replica, with the same delivery ids). The rows then
wait in the store for any replica's ``Deliverer``; ``stored`` wakes this one's. URLs are checked against the endpoint policy when they are given (the API
answers 422) and again at connect time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from mesh_auth.endpoints import EndpointPolicy, EndpointRefused
from mesh_contracts import RunStatus
from mesh_orchestrator.push.delivery import Deliverer
from mesh_orchestrator.runs.store.base import RunRecord
from mesh_orchestrator.runs.store.outbox import Delivery, Outbox, PushConfig

log = logging.getLogger(__name__)

WEBHOOK_OPTION = "webhook"  # where a run keeps its webhook (record.options): {url, secret}
A2AFormatter = Callable[[RunRecord], str]  # the body of an A2A push notification


class BadWebhook(ValueError):
    """A webhook URL the endpoint policy refuses (or that is not http(s))."""


def delivery_id(run: RunRecord, subscription: str) -> str:
    key = f"{run.run_id}|{run.status}|{run.epoch}|{subscription}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def webhook_body(run: RunRecord, did: str) -> str:
    """The mesh's webhook payload for ``run``'s state now."""
    return json.dumps(
        {
            "delivery_id": did,
            "event": f"run.{run.status}",
            "run_id": run.run_id,
            "status": str(run.status),
            "thread_id": run.options.get("thread_id"),
            "query": run.query[:2000],
            "answer": run.answer,
            "created_at": run.created_at,
            "finished_at": run.finished_at,
            "enqueued_at": time.time(),
        }
    )


class Notifier:
    """Subscriptions to runs' state changes, turned into outbox rows (module docstring)."""

    def __init__(self, outbox: Outbox, deliverer: Deliverer, policy: EndpointPolicy) -> None:
        self.outbox = outbox
        self.deliverer = deliverer
        self.policy = policy
        self.a2a_body: A2AFormatter | None = None  # set by the A2A routes

    async def check(self, url: str) -> None:
        """``BadWebhook`` unless the endpoint policy admits ``url`` now."""
        try:
            await self.policy.check(url)
        except EndpointRefused as exc:
            raise BadWebhook(str(exc)) from None

    async def set_default(self, owner: str, url: str, secret: str | None) -> str:
        """The client's default webhook; returns its secret (a new one when none given)."""
        await self.check(url)
        secret = secret or new_secret()
        await self.outbox.set_default(owner, url, secret)
        return secret

    async def deliveries(self, runs: Sequence[RunRecord]) -> dict[str, list[Delivery]]:
        """The outbox rows of each of ``runs``' state now (one per subscription; a running
        run has none), by run id, for the store to write with the states
        (``RunStore.store_batch``): one read of the subscriptions for them all. A store
        error is raised: the caller's flush is tried again, states and rows together."""
        ended = [r for r in runs if r.status != RunStatus.RUNNING]
        if not ended:
            return {}
        configs = await self._push_configs(ended)
        out: dict[str, list[Delivery]] = {}
        for r in ended:
            found = configs.get(r.run_id)
            if (
                not found
                and r.owner is None
                and not isinstance(r.options.get(WEBHOOK_OPTION), dict)
            ):
                out[r.run_id] = []  # no subscription: what ``_deliveries`` finds, no frame made
            else:
                out[r.run_id] = await self._deliveries(r, found or [])
        return out

    async def stored(self, runs: Sequence[RunRecord]) -> None:
        """Rows were stored with these runs' states: deliver them now."""
        if runs:
            self.deliverer.wake()

    async def changed(self, runs: Sequence[RunRecord]) -> None:
        """Enqueue a delivery per subscription of each run whose state is stored already
        (an A2A config set on a parked or ended task); errors are logged, never raised."""
        rows: list[Delivery] = []
        try:
            configs = await self._push_configs(runs)
        except Exception:
            log.exception("could not read the push configs of %d runs", len(runs))
            return
        for run in runs:
            try:
                rows += await self._deliveries(run, configs.get(run.run_id, []))
            except Exception:
                log.exception("could not read the subscriptions of run %s", run.run_id)
        if not rows:
            return
        try:
            if await self.outbox.enqueue(rows):
                self.deliverer.wake()
        except Exception:
            log.exception("could not store %d webhook deliveries", len(rows))

    async def _push_configs(self, runs: Sequence[RunRecord]) -> dict[str, list[PushConfig]]:
        """The A2A push configs of ``runs`` by run id (one read; none without A2A)."""
        if self.a2a_body is None or not runs:
            return {}
        return await self.outbox.push_of([r.run_id for r in runs])

    async def _deliveries(self, run: RunRecord, configs: list[PushConfig]) -> list[Delivery]:
        event = str(run.status)
        out: list[Delivery] = []
        hook = run.options.get(WEBHOOK_OPTION)
        if not isinstance(hook, dict) and run.owner is not None:
            found = await self.outbox.get_default(run.owner)
            hook = {"url": found[0], "secret": found[1]} if found else None
        if isinstance(hook, dict) and hook.get("url"):
            did = delivery_id(run, "webhook")
            out.append(
                Delivery(
                    delivery_id=did,
                    run_id=run.run_id,
                    event=event,
                    url=str(hook["url"]),
                    secret=hook.get("secret"),
                    body=webhook_body(run, did),
                )
            )
        if configs:
            try:
                body = self.a2a_body(run) if self.a2a_body is not None else ""
            except Exception:  # a formatter's bug must not keep the state from the store
                log.exception("could not format the A2A push body of run %s", run.run_id)
                return out
            out += [self._a2a(run, c, event, body) for c in configs]
        return out

    @staticmethod
    def _a2a(run: RunRecord, config: PushConfig, event: str, body: str) -> Delivery:
        headers: dict[str, str] = {}
        if config.token:
            headers["X-A2A-Notification-Token"] = config.token
        scheme, credentials = config.auth.get("scheme"), config.auth.get("credentials")
        if scheme and credentials:
            headers["Authorization"] = f"{scheme} {credentials}"
        return Delivery(
            delivery_id=delivery_id(run, f"a2a:{config.config_id}"),
            run_id=run.run_id,
            event=event,
            url=config.url,
            headers=headers,
            body=body,
        )


def webhook_option(url: str, secret: str | None) -> dict[str, Any]:
    """What a run's options keep of its webhook (a new secret when none was given)."""
    return {"url": url, "secret": secret or new_secret()}
