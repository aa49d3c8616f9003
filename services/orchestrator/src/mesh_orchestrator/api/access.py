"""Who may do what with runs: the checks every route that starts or shows a run applies.

With a mesh secret, run routes take a client token (``client:<name>``) or admin; the run
belongs to the token that started it (``RunRecord.owner``). A client lists, reads, follows
and cancels only its own runs: another client's run is answered 404 exactly like an unknown
one, so run ids cannot be probed. Admin sees every run. On a mesh running open (no secret,
loopback) every caller is an unauthenticated admin and runs have no owner.

A new route that starts or shows runs (A2A, OpenAI) needs one parameter and one call:

```python
async def route(..., svc: Svc, caller: RunCaller) -> ...:
    record = await start_run(svc, caller, query, plan, options)  # api/limits.py: 429s
    ...
    if not may_see(caller, await svc.runs.get(run_id)): 404   # before showing one
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends

from mesh_auth import Principal
from mesh_auth.http import require

if TYPE_CHECKING:
    from mesh_orchestrator.runs.store.base import RunRecord
    from mesh_orchestrator.runs.store.threads import ThreadRecord

RunCaller = Annotated[Principal, Depends(require("client:*", "admin"))]
"""A run route's caller: a client token or admin (401/403 otherwise)."""

RegistryReader = Annotated[Principal, Depends(require("*"))]
"""A registry read: any valid token."""


def owner_of(caller: Principal) -> str | None:
    """What a run started by ``caller`` records as its owner (None on an open mesh)."""
    return caller.scope if caller.authenticated else None


def may_see(caller: Principal, record: RunRecord | ThreadRecord | None) -> bool:
    """Whether ``caller`` may see (read, follow, cancel) ``record`` (a run or a thread);
    False for None."""
    if record is None:
        return False
    return not caller.authenticated or caller.is_admin or record.owner == caller.scope
