"""The in-memory index behind the embedded store: records' JSON, filtered lists at scale,
the watch's deltas, and what the store writes behind (heartbeats) or at once (registrations)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from mesh_contracts import HealthStatus, InstanceLoad, RegistryChanges
from mesh_discovery import AgentFilter, EmbeddedStore
from mesh_discovery.index import JOURNAL, Entry, RegistryIndex


async def test_each_records_json_is_what_pydantic_writes_for_it(
    tmp_path: Path, clock, make_descriptor, make_static
):
    store = EmbeddedStore(tmp_path / "reg.sqlite3", clock=clock)
    await store.open()
    await store.declare([make_static("facts")])
    await store.register(make_descriptor("w-1", description='quotes " and \\ and é'), 30)
    await store.register(make_descriptor("w-2", tags=("gpu",)), 30)
    await store.heartbeat("w-2", InstanceLoad(slots_in_use=2, queue_depth=1, gpu_free_mb=5))
    clock.advance(31)  # w-1 and w-2 lapse: critical records
    await store.heartbeat("w-2")
    body = await store.list_json()
    expected = "[" + ",".join(r.model_dump_json() for r in await store.list()) + "]"
    assert body.decode() == expected
    assert [r["status"] for r in json.loads(body)] == ["passing", "critical", "passing"]
    await store.close()


async def test_a_filtered_list_among_10000_instances_gives_its_matches_in_order(
    tmp_path: Path, clock, make_descriptor
):
    store = EmbeddedStore(tmp_path / "reg.sqlite3", clock=clock)
    await store.open()
    for i in range(10_000):
        d = make_descriptor(f"i{i:05d}", agent_id=f"a{i % 7}", capabilities=(f"c{i % 50}",),
                            tags=(f"t{i % 3}",))  # fmt: skip
        await store.register(d, 30 if i % 2 else 3600)
    clock.advance(60)  # the odd ones lapse

    picked = await store.list(AgentFilter(capability="c7", tag="t1", healthy=True))

    expected = sorted(
        (f"a{i % 7}", f"i{i:05d}")
        for i in range(10_000)
        if i % 50 == 7 and i % 3 == 1 and i % 2 == 0
    )
    assert [(r.descriptor.agent_id, r.descriptor.instance_id) for r in picked] == expected
    assert len(await store.list(AgentFilter(healthy=False))) == 5_000
    assert await store.list(AgentFilter(capability="nobody")) == []
    await store.close()


async def test_changes_since_an_index_are_the_upserts_and_removals_after_it(
    tmp_path: Path, clock, make_descriptor
):
    store = EmbeddedStore(tmp_path / "reg.sqlite3", clock=clock)
    await store.open()
    await store.register(make_descriptor("w-1"), 30)
    await store.register(make_descriptor("w-2"), 30)
    seen = await store.index()
    await store.register(make_descriptor("w-3"), 30)
    await store.deregister("w-1")
    await store.register(make_descriptor("w-2", description="changed"), 30)

    changes = RegistryChanges.model_validate_json(await store.changes_json(seen))

    assert not changes.full and changes.index == await store.index()
    assert [r.descriptor.instance_id for r in changes.upserts] == ["w-2", "w-3"]
    assert changes.upserts[0].descriptor.description == "changed"
    assert changes.removals == ["w-1"]
    nothing = RegistryChanges.model_validate_json(await store.changes_json(changes.index))
    assert (nothing.upserts, nothing.removals, nothing.full) == ([], [], False)
    await store.close()


async def test_changes_since_an_index_older_than_the_journal_or_a_restart_are_everything(
    tmp_path: Path, clock, make_descriptor
):
    store = EmbeddedStore(tmp_path / "reg.sqlite3", clock=clock)
    await store.open()
    await store.register(make_descriptor("w-1"), 30)
    seen = await store.index()
    await store.register(make_descriptor("w-2"), 30)
    await store.close()
    store = EmbeddedStore(tmp_path / "reg.sqlite3", clock=clock)
    await store.open()

    changes = RegistryChanges.model_validate_json(await store.changes_json(seen))

    assert changes.full
    assert [r.descriptor.instance_id for r in changes.upserts] == ["w-1", "w-2"]
    await store.close()


def test_a_journal_that_overflows_answers_older_indexes_with_everything(make_descriptor):
    index = RegistryIndex(reap_after_seconds=60)
    index.start_journal(0)
    entry = Entry(make_descriptor("w-1"), HealthStatus.PASSING, 0.0, 0.0, 30.0, 30.0, "api")
    index.put(entry)
    for i in range(1, JOURNAL + 10):
        index.record_change(i, ["w-1"])
    assert index.changes(5, JOURNAL + 9).full
    recent = index.changes(JOURNAL + 5, JOURNAL + 9)
    assert not recent.full and [e.instance_id for e in recent.upserts] == ["w-1"]


def _row(path: Path, instance_id: str) -> tuple[str, float]:
    with sqlite3.connect(path) as db:
        row = db.execute(
            "SELECT status, lease_expires_at FROM agents WHERE instance_id = ?", (instance_id,)
        ).fetchone()
    return row[0], row[1]


async def test_a_registration_is_on_disk_before_it_is_answered_and_heartbeats_within_a_flush(
    tmp_path: Path, clock, make_descriptor
):
    path = tmp_path / "reg.sqlite3"
    store = EmbeddedStore(path, clock=clock, flush_seconds=0.0)
    await store.open()
    first = await store.register(make_descriptor("w-1"), 30)
    # Another connection sees the committed registration (what a crash would leave).
    assert _row(path, "w-1") == ("passing", first.expires_at)

    clock.advance(10)
    renewed = await store.heartbeat("w-1")
    assert _row(path, "w-1")[1] == first.expires_at  # not written per heartbeat
    await store.sweep()  # the sweeper's tick writes what was renewed since the last flush
    assert _row(path, "w-1")[1] == renewed.expires_at
    await store.close()


async def test_after_a_crash_the_index_starts_above_every_index_a_reader_was_given(
    tmp_path: Path, clock, make_descriptor
):
    path = tmp_path / "reg.sqlite3"
    store = EmbeddedStore(path, clock=clock)
    await store.open()
    await store.register(make_descriptor("w-1"), 30)
    for n in range(3):  # load reports change the index in memory only
        await store.heartbeat("w-1", InstanceLoad(slots_in_use=n))
    given = await store.index()
    # A crash: the store is never closed; a new one opens the same file.
    again = EmbeddedStore(path, clock=clock)
    await again.open()
    assert await again.index() > given
    assert [r.descriptor.instance_id for r in await again.list()] == ["w-1"]
    await again.close()
    await store.close()


def _ids(body: bytes) -> list[tuple[str, str]]:
    return [(r["descriptor"]["instance_id"], r["status"]) for r in json.loads(body)]


async def test_a_kept_selection_is_used_again_only_while_nothing_it_depends_on_changed(
    tmp_path: Path, clock, make_descriptor
):
    store = EmbeddedStore(tmp_path / "reg.sqlite3", clock=clock)
    await store.open()
    kept = store._index_entries  # the in-memory index: its count of kept answers
    await store.register(make_descriptor("w-1", capabilities=("search",)), 30)
    await store.register(make_descriptor("w-2", capabilities=("search",)), 60)
    await store.register(make_descriptor("w-3", capabilities=("translation",)), 30)
    await store.heartbeat("w-1", InstanceLoad(slots_in_use=0))  # a first load report
    search = AgentFilter(capability="search", healthy=True)

    assert _ids(await store.list_json(search)) == [("w-1", "passing"), ("w-2", "passing")]
    assert _ids(await store.list_json(search)) == [("w-1", "passing"), ("w-2", "passing")]
    assert kept.selection_hits == 1

    # A heartbeat (its load as busy as before) moves no index: the kept selection serves,
    # with the renewed lease and the new load in it.
    clock.advance(5)
    renewed = await store.heartbeat("w-1", InstanceLoad(slots_in_use=0, gpu_free_mb=7))
    body = json.loads(await store.list_json(search))
    assert kept.selection_hits == 2
    assert body[0]["lease_expires_at"] == renewed.expires_at
    assert body[0]["last_heartbeat"] == clock.now and body[0]["load"]["gpu_free_mb"] == 7

    # A registration, a lapse, a revival, a deregistration: each is seen at once.
    await store.register(make_descriptor("w-4", capabilities=("search",)), 30)
    assert [i for i, _ in _ids(await store.list_json(search))] == ["w-1", "w-2", "w-4"]
    clock.advance(31)  # w-1 (renewed at +5) and w-4 lapse; w-2 has 60 s
    assert [i for i, _ in _ids(await store.list_json(search))] == ["w-2"]
    await store.heartbeat("w-4")
    assert [i for i, _ in _ids(await store.list_json(search))] == ["w-2", "w-4"]
    await store.deregister("w-2")
    assert [i for i, _ in _ids(await store.list_json(search))] == ["w-4"]
    # A re-registration that changes nothing a reader sees (no index bump) replaces the
    # entry: the kept selection is dropped, so the list shows the new lease.
    clock.advance(1)
    again = await store.register(make_descriptor("w-4", capabilities=("search",)), 30)
    body = json.loads(await store.list_json(search))
    assert [r["lease_expires_at"] for r in body] == [again.expires_at]
    await store.close()


def test_kept_selections_are_bounded(make_descriptor):
    from mesh_discovery.index import SELECTIONS

    index = RegistryIndex(reap_after_seconds=60)
    index.put(Entry(make_descriptor("w-1"), HealthStatus.PASSING, 0.0, 0.0, 30.0, 30.0, "api"))
    for n in range(SELECTIONS + 5):
        assert [e.instance_id for e in index.select(AgentFilter(tag=f"t{n}"), 1)] == []
    assert len(index._selections) <= SELECTIONS
    assert [e.instance_id for e in index.select(None, 1)] == ["w-1"]


async def test_a_heartbeats_json_is_the_lease_heartbeat_answers(
    tmp_path: Path, clock, make_descriptor
):
    store = EmbeddedStore(tmp_path / "reg.sqlite3", clock=clock)
    await store.open()
    await store.register(make_descriptor("w-1"), 12.5)
    clock.advance(3.25)
    answered = await store.heartbeat_json("w-1", InstanceLoad(slots_in_use=1))
    lease = await store.heartbeat("w-1")  # the same instant: the same lease and index
    assert answered == lease.model_dump_json().encode()
    assert json.loads(answered)["expires_at"] == clock.now + 12.5
    await store.close()
