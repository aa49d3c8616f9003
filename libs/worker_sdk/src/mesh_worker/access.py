"""Who a worker's work is for, and who may see what it kept.

Every worker route but ``/health`` and ``/descriptor`` takes a token (``mesh_auth``). The
worker API (``/invoke``, ``/stream``) takes the orchestrator's (or admin's); a worker's own
routes (artifact downloads, adapter lists, an OpenAI API) take a client's too, through
``CLIENT_CALLERS``.

What a worker makes (an adapter, an image) belongs to the task's ``owner``: the run's owner,
which only the orchestrator may name (``owner_for``). Only that owner, or admin, may list,
download or use it (``may_access``); on a mesh running open everyone may. A worker author
records ``task.owner`` with what it saves and checks ``may_access(saved_owner,
task.owner)`` before using it, or ``may_access(saved_owner, acting)`` in a route taking
``Acting``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from mesh_auth import Principal
from mesh_auth.http import require

CLIENT_CALLERS = require("client:*", "orchestrator", "admin")
"""Routes a client may call itself (its artifacts, its adapters, the OpenAI API)."""


def acting_as(caller: Principal) -> str | None:
    """The scope a side-route request acts for; None on a worker running open."""
    return caller.scope if caller.authenticated else None


async def _acting(caller: Annotated[Principal, Depends(CLIENT_CALLERS)]) -> str | None:
    return acting_as(caller)


Acting = Annotated[str | None, Depends(_acting)]
"""A route parameter: who the request acts for (401/403 for anyone but a client, the
orchestrator or admin); None on a worker running open."""


def owner_for(caller: Principal, sent: str | None) -> str | None:
    """The ``owner`` a task keeps: what the orchestrator sent (the run's owner; itself when
    it sent none), admin's choice, the caller's own scope otherwise; as sent on a worker
    running open."""
    if not caller.authenticated:
        return sent
    if caller.scope == "orchestrator":
        return sent or "orchestrator"
    if caller.is_admin:
        return sent or "admin"
    return caller.scope


def may_access(owner: str | None, acting: str | None) -> bool:
    """Whether ``acting`` (a scope, or None on a mesh running open) may list, download or use
    something kept for ``owner`` (None: made on an open mesh or put there by the operator,
    which only admin may then see)."""
    if acting is None or acting == "admin":
        return True
    return owner is not None and owner == acting


def may_remove(owner: str | None, acting: str | None) -> bool:
    """Whether ``acting`` may delete something kept for ``owner``: whoever may see it, and
    the orchestrator, whose retention removes a removed run's artifacts (``DELETE
    /artifacts/{name}``)."""
    return acting == "orchestrator" or may_access(owner, acting)


__all__ = ["CLIENT_CALLERS", "Acting", "acting_as", "may_access", "may_remove", "owner_for"]
