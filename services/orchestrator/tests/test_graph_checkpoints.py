"""A new run's checkpoint thread is not read (``graph.checkpoints``), against a real
LangGraph SQLite checkpointer: the read of a config marked new answers None without a call
to the database; every other read, and every write, goes to it as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

import aiosqlite
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph

from mesh_orchestrator.graph.checkpoints import NEW_THREAD, knowing_new_threads


class State(TypedDict, total=False):
    n: int


async def add_one(state: State) -> State:
    return {"n": state.get("n", 0) + 1}


def graph(saver: Any) -> Any:
    g: StateGraph[State] = StateGraph(State)
    g.add_node("add_one", add_one)
    g.add_edge(START, "add_one")
    g.add_edge("add_one", END)
    return g.compile(checkpointer=saver)


async def test_a_new_thread_is_not_read_and_is_written_as_before(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "checkpoints.sqlite3") as conn:
        saver = AsyncSqliteSaver(conn)
        reads: list[dict[str, Any]] = []
        read = saver.aget_tuple

        async def noting(config: Any) -> Any:  # this test's spy on the database reads
            reads.append(dict(config.get("configurable") or {}))
            return await read(config)

        saver.aget_tuple = noting  # type: ignore[method-assign]
        g = graph(knowing_new_threads(saver))
        new = {"configurable": {"thread_id": "run-1:1", NEW_THREAD: True}}
        assert await g.ainvoke({"n": 1}, new, durability="exit") == {"n": 2}
        assert reads == []  # the graph's start asked nothing of the database
        # What the run wrote is there, read through for any config not marked new.
        stored = await g.aget_state({"configurable": {"thread_id": "run-1:1"}})
        assert stored.values == {"n": 2}
        assert [r["thread_id"] for r in reads] == ["run-1:1"]
        # A thread that is not known to be new (a resumed run's) is read at the start.
        again = {"configurable": {"thread_id": "run-1:1", NEW_THREAD: False}}
        assert await g.ainvoke({"n": 5}, again, durability="exit") == {"n": 6}
        assert len(reads) == 2
