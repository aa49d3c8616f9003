"""The CLI's pure state model (LaneBoard) and its rendering, on a scripted run."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from mesh_cli.board import TEXT_TAIL_CHARS, LaneBoard
from mesh_cli.view import agents_table, render_answer, render_board, run_view
from mesh_contracts import StreamEvent

RUN = "run-abc"
PLAN = {
    "tasks": [
        {"task_id": "draft", "capability": "text_generation", "description": "write"},
        {"task_id": "image", "capability": "image_generation", "depends_on": []},
        {"task_id": "polish", "capability": "summarization", "depends_on": ["image"]},
    ],
    "reasoning": "three lanes",
    "planner": "client",
}


def script() -> list[StreamEvent]:
    """A run shaped like the orchestrator API: run, plan, interleaved lanes, result, done."""
    rows: list[tuple[str, str | None, str | None, dict[str, Any]]] = [
        ("run", None, None, {"run_id": RUN, "query": "make a card", "status": "running"}),
        ("plan", None, None, {"plan": PLAN, "planner": "client", "reason": "supplied"}),
        ("status", "draft", "writer", {"status": "running", "agent_id": "writer",
                                        "instance_id": "writer-1", "endpoint": "http://w"}),
        ("status", "image", "image-gen", {"status": "running", "agent_id": "image-gen",
                                           "instance_id": "ig-1", "endpoint": "http://i"}),
        ("token", "draft", "writer", {"token": "Hel"}),
        ("progress", "image", "image-gen", {"step": 1, "total": 4, "message": "denoising"}),
        ("token", "draft", "writer", {"token": "lo"}),
        ("message", "image", "image-gen", {"role": "assistant", "content": "half way"}),
        ("artifact", "image", "image-gen", {"name": "card.png", "url": "http://i/a/card.png",
                                             "content_type": "image/png", "size_bytes": 1234}),
        ("result", "draft", "writer", {"output": "Hello"}),
        ("status", "draft", "writer", {"status": "completed"}),
        ("error", "image", "image-gen", {"error": "CUDA out of memory", "code": "oom"}),
        ("status", "image", "image-gen", {"status": "failed"}),
        ("status", "polish", None, {"status": "skipped", "reason": "dependency image failed"}),
        ("result", None, None, {"answer": "Hello", "status": "partial", "results": {
            "draft": {"status": "completed", "output": "Hello", "error": None, "agent_id": "writer"},
            "image": {"status": "failed", "output": None, "error": "CUDA out of memory",
                      "agent_id": "image-gen"},
            "polish": {"status": "skipped", "output": None, "error": None, "agent_id": None},
        }}),
        ("done", None, None, {"status": "partial"}),
    ]  # fmt: skip
    return [
        StreamEvent(run_id=RUN, seq=i, type=t, task_id=task, agent_id=agent, data=data)  # type: ignore[arg-type]
        for i, (t, task, agent, data) in enumerate(rows, start=1)
    ]


def fed(events: list[StreamEvent]) -> LaneBoard:
    board = LaneBoard()
    for ev in events:
        board.apply(ev)
    return board


def test_plan_event_opens_one_lane_per_task_in_plan_order() -> None:
    board = fed(script()[:2])
    assert list(board.lanes) == ["draft", "image", "polish"]
    assert board.run_id == RUN and board.query == "make a card" and board.planner == "client"
    assert all(lane.status == "pending" for lane in board.lanes.values())
    assert board.lanes["polish"].depends_on == ["image"]


def test_tokens_accumulate_in_their_own_lane_only() -> None:
    board = fed(script()[:7])
    draft, image = board.lanes["draft"], board.lanes["image"]
    assert (draft.text_tail, draft.tokens, draft.status) == ("Hello", 2, "running")
    assert draft.agent_id == "writer" and draft.instance_id == "writer-1"
    assert image.text_tail == "" and image.tokens == 0


def test_progress_message_artifact_and_error_land_on_the_image_lane() -> None:
    image = fed(script()).lanes["image"]
    assert image.progress is not None and image.progress.fraction == 0.25
    assert image.progress.message == "denoising"
    assert image.last_message == "half way" and image.messages == 1
    assert [(a.name, a.url, a.size_bytes) for a in image.artifacts] == [
        ("card.png", "http://i/a/card.png", 1234)
    ]
    assert (image.status, image.error, image.error_code) == ("failed", "CUDA out of memory", "oom")


def test_final_result_and_done_give_the_answer_and_outcome() -> None:
    board = fed(script())
    assert board.answer == "Hello" and board.result_status == "partial"
    assert board.done and board.final_status == "partial"
    assert board.lanes["draft"].output == "Hello" and board.lanes["draft"].finished
    assert board.lanes["polish"].status == "skipped"
    assert board.lanes["polish"].reason == "dependency image failed"
    assert board.last_seq == 16 and board.events == 16


def test_replayed_events_are_ignored_so_a_resume_does_not_double_tokens() -> None:
    events = script()
    board = fed(events[:7])
    assert board.apply(events[4]) is False  # seq 5 again
    for ev in events[5:]:  # overlap with what was seen, as a resumed stream would send
        board.apply(ev)
    assert board.lanes["draft"].tokens == 2 and board.lanes["draft"].text_tail == "Hello"


def test_events_for_a_task_missing_from_the_plan_still_get_a_lane() -> None:
    board = LaneBoard()
    board.apply(StreamEvent(run_id=RUN, seq=1, type="token", task_id="x", data={"token": "hi"}))
    assert board.lanes["x"].text_tail == "hi"


def test_a_long_token_stream_keeps_only_a_bounded_tail() -> None:
    board = LaneBoard()
    for i in range(1, 3001):
        board.apply(StreamEvent(run_id=RUN, seq=i, type="token", task_id="t", data={"token": "ab"}))
    lane = board.lanes["t"]
    assert lane.tokens == 3000 and lane.text_chars == 6000
    assert len(lane.text_tail) == TEXT_TAIL_CHARS


def render(renderable: Any) -> str:
    console = Console(file=io.StringIO(), width=110, color_system=None)
    console.print(renderable)
    return str(console.file.getvalue())  # type: ignore[attr-defined]


def test_board_renders_each_lane_with_agent_status_text_progress_and_artifact() -> None:
    board = fed(script())
    text = render(render_board(board))
    for needle in ("draft", "writer", "Hello", "image-gen", "1/4 denoising", "card.png",
                   "CUDA out of memory", "skipped", "dependency image failed", "3/3 tasks"):  # fmt: skip
        assert needle in text, needle
    assert "Hello" in render(render_answer(board)) and "partial" in render(render_answer(board))


def test_tables_render_agents_gpu_and_a_runs_plan() -> None:
    record = {
        "descriptor": {"agent_id": "image-gen", "instance_id": "ig-1", "capabilities":
                       ["image_generation"], "streaming_mode": "dynamic_events",
                       "endpoint": "http://i", "resources": {"gpu": True, "gpu_count": 1,
                       "gpu_model": "NVIDIA H100", "vram_mb": 81920}},
        "status": "critical",
    }  # fmt: skip
    text = render(agents_table([record]))
    assert "NVIDIA H100 80 GiB" in text and "critical" in text and "dynamic_events" in text
    run = {"run_id": RUN, "status": "partial", "query": "q", "created_at": 1.0,
           "finished_at": None, "answer": "Hello", "plan": [
               {"task_id": "draft", "capability": "text_generation", "status": "completed",
                "assigned_agent": "writer", "output": "Hello", "depends_on": []},
               {"task_id": "image", "capability": "image_generation", "status": "failed",
                "error": "CUDA out of memory", "depends_on": ["draft"]}]}  # fmt: skip
    text = render(run_view(run))
    assert "writer" in text and "CUDA out of memory" in text and "draft" in text


def test_a_retried_task_shows_only_its_last_attempts_output() -> None:
    board = LaneBoard()
    rows: list[tuple[str, dict[str, Any]]] = [
        ("status", {"status": "running", "instance_id": "writer-1", "attempt": 1}),
        ("token", {"token": "lost ", "attempt": 1}),
        ("status", {"status": "retrying", "attempt": 2, "reason": "writer-1 stream broke off",
                    "next_instance": "writer-2"}),
        ("token", {"token": "late", "attempt": 1}),  # the given-up attempt, arriving late
        ("status", {"status": "running", "instance_id": "writer-2", "attempt": 2}),
        ("token", {"token": "kept", "attempt": 2}),
    ]  # fmt: skip
    for seq, (type_, data) in enumerate(rows, 1):
        board.apply(StreamEvent(run_id=RUN, seq=seq, type=type_, task_id="t1", data=data))
    lane = board.lanes["t1"]
    assert (lane.text_tail, lane.tokens, lane.attempt) == ("kept", 1, 2)
    assert lane.instance_id == "writer-2" and lane.status == "running"


def _console_text(renderable: Any) -> str:
    out = io.StringIO()
    Console(file=out, width=160, color_system=None).print(renderable)
    return out.getvalue()


def test_a_branch_not_taken_and_a_loops_iterations_say_why() -> None:
    board = LaneBoard()
    rows: list[tuple[str, str, dict[str, Any]]] = [
        ("status", "revise", {"status": "condition", "kind": "when", "result": False,
                              "expression": "not $.review.output.approved",
                              "values": {"$.review.output.approved": True}}),
        ("status", "revise", {"status": "skipped",
                              "reason": "condition false: not $.review.output.approved"}),
        ("status", "check", {"status": "running", "attempt": 1}),
        ("status", "check", {"status": "completed"}),
        ("status", "check", {"status": "condition", "kind": "repeat_until", "result": False,
                             "expression": "output.approved", "iteration": 1,
                             "values": {"output.approved": False}}),
        ("status", "check", {"status": "iterating", "iteration": 2, "attempt": 2,
                             "max_iterations": 3, "loop": "check", "reason": "repeat_until false"}),
    ]  # fmt: skip
    for seq, (type_, task, data) in enumerate(rows, 1):
        board.apply(StreamEvent(run_id=RUN, seq=seq, type=type_, task_id=task, data=data))
    revise, check = board.lanes["revise"], board.lanes["check"]
    assert revise.status == "skipped"
    assert revise.condition == (
        "when not $.review.output.approved: false ($.review.output.approved=True)"
    )
    assert (check.status, check.iteration, check.attempt) == ("running", 2, 2)
    text = _console_text(render_board(board))
    assert "repeat_until output.approved at iteration 1: false" in text
    assert "iteration 2" in text


def test_a_lookup_lane_and_run_view_show_the_best_passage_not_json() -> None:
    output = {
        "query": "heartbeat",
        "results": [
            {"source": "discovery.md", "title": "Heartbeats", "score": 7.25,
             "passage": "A worker that misses its heartbeats is marked critical."},
            {"source": "other.md", "title": "Other", "score": 1.5, "passage": "second hit"},
        ],
    }  # fmt: skip
    board = LaneBoard()
    rows: list[tuple[str, dict[str, Any]]] = [
        ("plan", {"plan": {"tasks": [{"task_id": "t1", "capability": "search"}]}}),
        ("status", {"status": "running", "instance_id": "lookup-1"}),
        ("result", {"output": output}),
        ("status", {"status": "completed"}),
    ]
    for seq, (type_, data) in enumerate(rows, 1):
        task = None if type_ == "plan" else "t1"
        board.apply(StreamEvent(run_id=RUN, seq=seq, type=type_, task_id=task, data=data))
    text = render(render_board(board))
    assert "A worker that misses its heartbeats is marked critical." in text
    assert "discovery.md" in text
    assert '"score"' not in text and "7.25" not in text and "second hit" not in text
    run = {"run_id": RUN, "status": "completed", "query": "q", "plan": [
        {"task_id": "t1", "capability": "search", "status": "completed", "output": output}]}  # fmt: skip
    text = render(run_view(run))
    assert "worker" in text and "misses" in text and '"query"' not in text and "7.25" not in text
