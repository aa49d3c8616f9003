"""What only the embedded SQLite store promises: atomic writes and its file on disk."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mesh_discovery import EmbeddedStore


async def test_a_failed_write_leaves_memory_and_disk_unchanged(
    tmp_path: Path, clock, make_descriptor, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "reg.sqlite3"
    store = EmbeddedStore(path, clock=clock)
    await store.open()
    await store.register(make_descriptor("w-1"), 30)
    index = await store.index()

    def crash(*_: object) -> int:
        raise sqlite3.OperationalError("disk I/O error")

    # Fail after the row was written but before the transaction commits.
    monkeypatch.setattr(store, "_write_index", crash)
    with pytest.raises(sqlite3.OperationalError):
        await store.register(make_descriptor("w-2"), 30)
    with pytest.raises(sqlite3.OperationalError):
        await store.deregister("w-1")
    monkeypatch.undo()

    assert [r.descriptor.instance_id for r in await store.list()] == ["w-1"]
    assert await store.index() == index
    await store.close()

    reopened = EmbeddedStore(path, clock=clock)
    await reopened.open()
    assert [r.descriptor.instance_id for r in await reopened.list()] == ["w-1"]
    assert await reopened.index() == index
    await reopened.close()


async def test_open_creates_missing_parent_directories(tmp_path: Path, clock):
    store = EmbeddedStore(tmp_path / "a" / "b" / "reg.sqlite3", clock=clock)
    await store.open()
    await store.close()
    assert (tmp_path / "a" / "b" / "reg.sqlite3").is_file()


async def test_reads_report_a_lapse_even_before_the_sweeper_runs(
    tmp_path: Path, clock, make_descriptor
):
    store = EmbeddedStore(tmp_path / "reg.sqlite3", clock=clock)
    await store.open()
    await store.register(make_descriptor("w-1"), 5)
    before = await store.index()
    clock.advance(6)
    # No sweep() call: the read itself must apply the lapse and move the index with it.
    assert (await store.get("w-1")).status == "critical"
    assert await store.index() == before + 1
    await store.close()
