"""The run graph's checkpointer, told which checkpoint threads are new.

When a graph starts, LangGraph reads its thread's latest checkpoint (``aget_tuple``): a
query to the checkpointer's database per run (on SQLite four hand-offs to aiosqlite's
thread and back, about a sixth of the store's work for a short run). A run's thread is
``run_id:epoch`` (``runs.driving``), and a run just created (``RunService.start``) has never
run anywhere: there is nothing to read. Its config says so (``NEW_THREAD``), and the read
answers what the database would, None, without asking it. Any other read (a resumed or
approved run, an explicit ``checkpoint_id``) goes to the database as before; what is
written is unchanged.
"""

from __future__ import annotations

from typing import Any, TypeVar

# In a run's ``configurable``: True when its checkpoint thread is known to be new.
NEW_THREAD = "mesh_new_thread"
S = TypeVar("S")


def knowing_new_threads(saver: S) -> S:
    """``saver`` (a LangGraph checkpointer), its ``aget_tuple`` answering None at once for a
    config marked ``NEW_THREAD`` that names no checkpoint."""
    read = saver.aget_tuple  # type: ignore[attr-defined]

    async def aget_tuple(config: Any) -> Any:
        conf = config.get("configurable") or {}
        if conf.get(NEW_THREAD) and not conf.get("checkpoint_id"):
            return None
        return await read(config)

    setattr(saver, "aget_tuple", aget_tuple)  # noqa: B010 - the instance's, not the class's
    return saver
