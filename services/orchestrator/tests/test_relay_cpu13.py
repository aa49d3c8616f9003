"""Round 13, CPU a relayed stream (bench/README.md, "Round 13: CPU a stream"): the token
events of a worker block are made without a constructor call each, and the live record's
``last_seq`` and ``plan`` are set straight in its ``__dict__``; both make what they made."""

from __future__ import annotations

from mesh_orchestrator.emitter import TokenBytes
from mesh_orchestrator.runs.events import RelayedEvent, encode_frames
from mesh_orchestrator.runs.mux import EventMux, _token_events
from mesh_orchestrator.runs.projection import RunProjection
from mesh_orchestrator.runs.store.base import RunRecord


def _slots(e: RelayedEvent) -> dict[str, object]:
    return {name: getattr(e, name) for name in RelayedEvent.__slots__}


def test_token_events_fill_every_slot_as_the_constructor_does() -> None:
    block = TokenBytes([b'"a"', b'"b"', b'"c"'], ["a", "b", "c"], 2)
    block.first = 7
    made = _token_events("r", 7, 3, "t", "w", 1.5, block)
    expected = [RelayedEvent("r", s, "token", "t", "w", None, 1.5, block) for s in (7, 8, 9)]
    assert [type(e) for e in made] == [RelayedEvent] * 3
    assert [_slots(e) for e in made] == [_slots(e) for e in expected]
    # ``data`` is made from the block when read, and the frames are the same bytes
    assert [e.data for e in made] == [{"token": t, "attempt": 2} for t in "abc"]
    assert encode_frames(made) == b"".join(e.frame() for e in expected)
    assert encode_frames(made, in_order=True) == encode_frames(expected)


def test_a_published_block_is_numbered_and_sets_the_records_last_seq() -> None:
    mux = EventMux(None)  # type: ignore[arg-type]  # nothing is flushed here
    record = RunRecord(run_id="r", query="q", created_at=1.0)
    mux.open(record)
    first = mux.publish("r", "status", {"status": "running"}, "t", "w")
    assert first is not None and record.last_seq == first.seq == 1
    block = TokenBytes([b'"x"', b'"y"'], ["x", "y"], None)
    events = mux.publish_many("r", block, "t", "w")
    assert [e.seq for e in events] == [2, 3] and block.first == 2
    assert all(e.block is block and e.type == "token" and e.ts == events[0].ts for e in events)
    assert record.last_seq == 3
    assert record.model_dump()["last_seq"] == 3
    assert mux.channels["r"].events[1:] == events


def test_the_projection_sets_the_records_plan() -> None:
    record = RunRecord(run_id="r", query="q", created_at=1.0)
    projection = RunProjection(record)
    task = {"task_id": "t", "capability": "c", "input": {}}
    assert projection.apply("plan", {"plan": {"tasks": [task]}}, None, 1.0)
    assert record.plan is not None and [n["task_id"] for n in record.plan] == ["t"]
    assert projection.apply("status", {"status": "running", "agent_id": "a"}, "t", 2.0)
    assert record.plan[0]["status"] == "running" and record.plan[0]["started_at"] == 2.0
    assert record.model_dump()["plan"] == record.plan
    assert RunRecord.model_validate_json(record.model_dump_json()).plan == record.plan


def test_a_node_field_is_written_as_the_json_dump_writes_it() -> None:
    from pydantic import TypeAdapter

    from mesh_orchestrator.runs.projection import _json

    dump = TypeAdapter(object).dump_python
    for value in (None, "", "agent-1", "\ud800 lone", 3, 2.5, True, [1, "a"], {"k": (1, 2)}):
        assert _json(value) == dump(value, mode="json")
        assert type(_json(value)) is type(dump(value, mode="json"))

    class Name(str):
        pass

    assert type(_json(Name("x"))) is type(dump(Name("x"), mode="json"))
