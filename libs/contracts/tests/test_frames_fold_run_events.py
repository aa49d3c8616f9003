"""The fast data decoder, its frame bound, the output fold and the typed run payloads."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from mesh_contracts import (
    DataFrames,
    ExecutionPlan,
    FrameTooLarge,
    NodeStatus,
    PhaseStatus,
    PlanChosen,
    RunAnswer,
    RunEnded,
    RunFailure,
    RunStatus,
    SSEDecoder,
    TaskFailure,
    TaskOutput,
    TaskStatus,
    encode_event,
    fold_events,
    parse_run_payload,
)


def _as_text(payloads: list[bytes | str]) -> list[str]:
    return [p if isinstance(p, str) else p.decode() for p in payloads]


def test_data_frames_agree_with_the_spec_decoder_on_random_chunking() -> None:
    frames = [encode_event({"type": "token", "token": f"t{i}"}) for i in range(300)]
    frames.insert(100, b": ping\n\n")  # switches to the spec decoder mid-stream
    frames.insert(200, b"data: a\r\ndata: b\r\n\r\n")
    # Shapes the block fast path must leave to the frame-by-frame one: frames that hold the
    # separator's text in a string, a frame of two data lines, ``data:`` with no space.
    frames.insert(50, encode_event({"type": "token", "token": "\n\ndata: x\n"}))
    frames.insert(60, b"data: two\ndata: lines\n\n")
    frames.insert(70, b"data:tight\n\n")
    stream = b"".join(frames)
    want = [m.data for m in SSEDecoder().feed(stream)]
    rng = random.Random(7)
    for _ in range(50):
        decoder, got, pos = DataFrames(), [], 0
        while pos < len(stream):
            n = rng.randint(1, 200)
            got.extend(_as_text(decoder.feed(stream[pos : pos + n])))
            pos += n
        assert got == want


def test_a_frame_past_the_bound_raises_instead_of_buffering() -> None:
    decoder = DataFrames(max_frame_bytes=1 << 16)
    decoder.feed(b"data: " + b"x" * 1000)
    with pytest.raises(FrameTooLarge, match="65536 bytes"):
        for _ in range(100):
            decoder.feed(b"x" * 1000)


def test_a_frame_within_the_bound_arrives_whole_after_many_chunks() -> None:
    decoder = DataFrames(max_frame_bytes=1 << 20)
    assert decoder.feed(b"data: ") == []
    for _ in range(100):
        assert decoder.feed(b"y" * 1000) == []
    (payload,) = decoder.feed(b"\n\ndata: next")
    assert payload == b"y" * 100_000


def test_the_spec_decoder_bounds_a_frame_too() -> None:
    decoder = SSEDecoder(max_frame_bytes=100)
    with pytest.raises(FrameTooLarge):
        decoder.feed(b"data: " + b"z" * 60 + b"\ndata: " + b"z" * 60 + b"\n")


def test_the_fold_prefers_a_result_then_tokens_then_messages_then_artifacts() -> None:
    assert fold_events([("token", {"token": "a"}), ("token", {"token": "b"})]).output() == "ab"
    msgs = fold_events([("message", {"content": "x"}), ("message", {"content": "y"})])
    assert msgs.output() == "x\n\ny"
    both = fold_events([("token", {"token": "a"}), ("result", {"output": {"k": 1}})])
    assert both.output() == {"k": 1}
    art = fold_events([("artifact", {"name": "a.png"})])
    assert art.output() == {"artifacts": [{"name": "a.png"}]}
    assert art.output(default="static") == "static"
    failed = fold_events([("token", {"token": "a"}), ("error", {"error": "boom"})])
    assert failed.failed and failed.error == "boom"


PLAN = ExecutionPlan.model_validate({"tasks": [{"task_id": "t1", "capability": "search"}]})


@pytest.mark.parametrize(
    ("payload", "task_id"),
    [
        (PlanChosen(plan=PLAN, planner="semantic", reason="r"), None),
        (PhaseStatus(phase="plan", status="rejected", reason="cycle"), None),
        (PhaseStatus(phase="approval", status="awaiting_approval", reason="asked"), None),
        (PhaseStatus(phase="approval", status="approved", edited=True), None),
        (PhaseStatus(phase="approval", status="rejected", reason="not now"), None),
        (TaskStatus(status=NodeStatus.RUNNING, agent_id="w", instance_id="w-1"), "t1"),
        (TaskOutput(output={"x": 1}), "t1"),
        (TaskFailure(error="boom", code="timeout"), "t1"),
        (RunAnswer(answer="a", status=RunStatus.PARTIAL, results={}), None),
        (RunFailure(error="no plan", code="planning_failed"), None),
        (RunEnded(status=RunStatus.CANCELLED), None),
        (RunEnded(status=RunStatus.REJECTED), None),
    ],
)
def test_each_run_payload_round_trips_through_its_wire_form(payload, task_id) -> None:
    back = parse_run_payload(payload.TYPE, payload.data(), task_id)
    assert type(back) is type(payload)
    assert back.data() == payload.data()


def test_relayed_worker_events_are_not_run_payloads_and_bad_data_is_refused() -> None:
    assert parse_run_payload("token", {"token": "x"}, "t1") is None
    with pytest.raises(ValidationError):
        parse_run_payload("done", {"status": "sort of"}, None)
    assert RunStatus.RUNNING.terminal is False and RunStatus.PARTIAL.terminal is True


def test_a_run_awaiting_approval_is_not_ended_and_a_rejected_one_is() -> None:
    assert RunStatus.AWAITING_APPROVAL.terminal is False
    assert RunStatus.REJECTED.terminal is True
    waiting = parse_run_payload(
        "status", {"phase": "approval", "status": "awaiting_approval"}, None
    )
    assert isinstance(waiting, PhaseStatus) and waiting.phase == "approval"
    with pytest.raises(ValidationError):  # an approval phase has no "replan running" state
        parse_run_payload("status", {"phase": "approval", "status": "thinking"}, None)
