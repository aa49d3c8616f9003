"""The webhook outbox's row: a ``Delivery``, its columns and codec, and the statement that
stores one. Apart from the outbox itself (``runs.store.outbox``) so that the run stores can
write a run's deliveries in the transaction that stores its state (``RunStore.save_run``)
without depending on each other.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

DELIVERY_COLUMNS = (
    "delivery_id, run_id, event, url, secret, headers, body, created_at, attempts, next_at, "
    "lease_owner, lease_until, delivered_at, last_error"
)


class Delivery(BaseModel):
    """One webhook delivery: what is posted where, and how far it got."""

    delivery_id: str
    run_id: str
    event: str  # the run's new status: completed, failed, awaiting_approval, ...
    url: str
    secret: str | None = None  # the subscription's HMAC key (None: unsigned, A2A token auth)
    headers: dict[str, str] = Field(default_factory=dict)
    body: str
    created_at: float = Field(default_factory=time.time)
    attempts: int = 0
    next_at: float | None = Field(default_factory=time.time)  # None: given up or delivered
    lease_owner: str | None = None
    lease_until: float | None = None
    delivered_at: float | None = None
    last_error: str | None = None


def delivery_row(d: Delivery) -> tuple[Any, ...]:
    return (
        d.delivery_id,
        d.run_id,
        d.event,
        d.url,
        d.secret,
        json.dumps(d.headers),
        d.body,
        d.created_at,
        d.attempts,
        d.next_at,
        d.lease_owner,
        d.lease_until,
        d.delivered_at,
        d.last_error,
    )


def delivery_from_row(row: Sequence[Any]) -> Delivery:
    names = DELIVERY_COLUMNS.split(", ")
    values = dict(zip(names, row, strict=True))
    values["headers"] = json.loads(values["headers"] or "{}")
    return Delivery.model_validate(values)


def enqueue_sql(prefix: str, mark: str) -> str:
    """Store a delivery unless its id is stored already (``prefix``: the tables' prefix,
    ``mark``: the driver's placeholder)."""
    return (
        f"INSERT INTO {prefix}webhook_outbox ({DELIVERY_COLUMNS}) "
        f"VALUES ({','.join([mark] * 14)}) ON CONFLICT (delivery_id) DO NOTHING"
    )


# What a run store's ``save_run`` runs in the transaction that stores the run's new state.
SQLITE_ENQUEUE = enqueue_sql("", "?")
PG_ENQUEUE = enqueue_sql("mesh_", "%s")
