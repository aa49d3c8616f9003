"""The relay's hand-rolled codecs write and read exactly what the contract's codecs do."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pydantic import ValidationError

from mesh_contracts import DataFrames, SSEDecoder, StreamEvent, encode_event, parse_worker_event
from mesh_orchestrator.relay.worker_client import relayable
from mesh_orchestrator.runs.events import RelayedEvent, encode_frames

DATA: list[dict[str, Any]] = [
    {"token": "x"},
    {"token": 'héllo "quoted" \\ / \u2028 \x1f 😀 \n new line'},
    {"plan": {"tasks": [{"task_id": "t1", "input": {"n": 1.5, "big": 2**63, "none": None}}]}},
    {"floats": [0.1, 1e20, 1e-7, -0.0, 1732400000.1234567, float("nan"), float("inf")]},
    {},
    {"huge": 2**80},  # past orjson: the pydantic path
    {"nested": {"deep": [[{"k": True}]]}},
]


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize(("task_id", "agent_id"), [(None, None), ('t\u00e9"1', "writer")])
def test_a_relayed_frame_is_byte_for_byte_the_contract_encoding(
    data: dict[str, Any], task_id: str | None, agent_id: str | None
) -> None:
    ts = time.time()
    e = RelayedEvent("run1", 7, "token", task_id, agent_id, data, ts)
    model = StreamEvent(
        run_id="run1", seq=7, type="token", task_id=task_id, agent_id=agent_id, data=data, ts=ts
    )
    assert e.frame() == encode_event(model.model_dump_json(), id=7)


def test_a_batch_of_frames_is_byte_for_byte_each_event_framed_alone() -> None:
    # As a block is published: the same run, type, task, agent and timestamp objects, then
    # events that share some of them, then events of other tasks, one pydantic fallback.
    ts = time.time()
    block = [RelayedEvent("run1", s, "token", "t1", "w", {"token": str(s)}, ts) for s in (1, 2)]
    batch = [
        *block,
        RelayedEvent("run1", 3, "token", "t1", "w", {"token": "c"}, ts + 1),  # new timestamp
        RelayedEvent("run1", 4, "status", "t1", "w", {"status": "completed"}, ts + 1),
        RelayedEvent("run1", 5, "token", 't\u00e9"2', None, {"token": "d"}, ts + 1),
        RelayedEvent("run1", 6, "token", 't\u00e9"2', None, {"huge": 2**80}, ts + 1),
        *[RelayedEvent("run1", 7 + i, "token", "t1", "w", d, ts) for i, d in enumerate(DATA)],
        RelayedEvent("run2", 99, "done", None, None, {}, ts),
    ]
    assert encode_frames(batch) == b"".join(e.frame() for e in batch)
    assert encode_frames(batch[:1]) == batch[0].frame()
    assert encode_frames([]) == b""
    frames = SSEDecoder().feed(encode_frames(batch))
    assert [int(f.id or 0) for f in frames] == [e.seq for e in batch]


def payloads_by_spec(stream: bytes) -> list[str]:
    return [m.data for m in SSEDecoder().feed(stream)]


STREAMS = [
    b'data: {"type":"token","token":"a"}\n\ndata: {"type":"token","token":"b"}\n\n',
    b"data:nospace\n\ndata: x\n\n",
    b'data: {"a":1}\n\n: ping\n\ndata: {"b":2}\n\n',  # a comment switches to the spec decoder
    b"data: one\ndata: two\n\ndata: three\n\n",  # multi-line data
    b"id: 4\nevent: token\ndata: x\n\n",
    b"data: a\r\n\r\ndata: b\r\n\r\n",  # CRLF
    b"\xef\xbb\xbfdata: bom\n\n",
    b"data: a\n\n\n\ndata: b\n\n",  # extra blank lines
    b'data: {"t":"\xc3\xa9"}\n\ndata: unfinished',
]


@pytest.mark.parametrize("stream", STREAMS)
def test_data_frames_match_the_spec_decoder_wherever_the_chunks_break(stream: bytes) -> None:
    want = payloads_by_spec(stream)
    for size in (1, 2, 3, 7, len(stream)):
        frames = DataFrames()
        got: list[str] = []
        for i in range(0, len(stream), size):
            got.extend(
                p if isinstance(p, str) else p.decode() for p in frames.feed(stream[i : i + size])
            )
        assert got == want, size


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "token", "token": "hi"},
        {"token": "hi", "type": "token"},
        {"type": "token", "token": "hi", "logprob": -0.5},  # extras keep their place
        {"type": "message", "role": "assistant", "content": "c"},
        {"role": "assistant", "content": "bare message"},
        {"type": "progress", "step": 1, "total": 3},
        {"type": "artifact", "name": "a.png", "size_bytes": 3},
        {"type": "result", "output": {"x": [1, 2]}},
        {"type": "error", "error": "boom"},
        {"type": "done"},
    ],
)
def test_relayable_events_are_what_the_contract_model_dumps(raw: dict[str, Any]) -> None:
    model = parse_worker_event(dict(raw))
    assert relayable(dict(raw)) == (model.type, model.model_dump(mode="json", exclude={"type"}))


@pytest.mark.parametrize(
    "raw", [{"type": "token", "token": 5}, {"type": "token"}, {"type": "nope"}, ["token"]]
)
def test_a_malformed_worker_event_is_refused(raw: Any) -> None:
    with pytest.raises((ValueError, ValidationError)):
        relayable(raw)
