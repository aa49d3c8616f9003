"""A hostile worker's text on the CLI's terminal: no escape sequence or control character
reaches it, and nothing it wrote is read as Rich markup."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from rich.console import Console

from mesh_cli.board import LaneBoard
from mesh_cli.terminal import clean, json_safe
from mesh_cli.view import render_answer, render_board, render_plan, run_view
from mesh_contracts import StreamEvent

# What a worker could send to take over the terminal of whoever watches its output.
ATTACKS = {
    "clear screen": "\x1b[2J\x1b[H",
    "clipboard write (OSC 52)": "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07",
    "window title, ST-terminated": "\x1b]0;pwned\x1b\\",
    "forged hyperlink (OSC 8)": "\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07",
    "8-bit CSI": "\x9b31m",
    "DCS": "\x1bPq#0;2;0;0;0\x1b\\",
    "carriage return overwrite": "rm -rf ~\rok      ",
    "bell and backspace": "\x07\x08",
    "bidi override": "\u202etxt.exe",
    "unterminated OSC": "\x1b]2;still going",
}
MARKUP = "[red]boom[/red] [link=http://evil.example]here[/link]"
UNSAFE = {chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))} | {"\u202e"}


def printed(renderable: Any) -> str:
    buf = io.StringIO()
    # Not a terminal: Rich adds no styling escapes of its own, so any in the output came
    # from the worker's text.
    Console(file=buf, width=200, force_terminal=False, color_system=None).print(renderable)
    return buf.getvalue()


def board_with(text: str) -> LaneBoard:
    rows: list[tuple[str, str | None, dict[str, Any]]] = [
        ("run", None, {"query": "q", "status": "running"}),
        ("plan", None, {"plan": {"tasks": [{"task_id": "t1", "capability": "text_generation",
                                            "input": {"prompt": text}}]},
                        "planner": "llm", "reason": text}),
        ("status", "t1", {"status": "running", "agent_id": "writer", "reason": text}),
        ("token", "t1", {"token": text}),
        ("message", "t1", {"content": text}),
        ("progress", "t1", {"step": 1, "total": 2, "message": text}),
        ("artifact", "t1", {"name": text, "url": "http://w/a.png"}),
        ("error", "t1", {"error": text, "code": "worker_error"}),
        ("result", None, {"answer": text, "status": "failed", "results": {}}),
    ]  # fmt: skip
    board = LaneBoard()
    for i, (kind, task, data) in enumerate(rows, start=1):
        board.apply(
            StreamEvent(run_id="r", seq=i, type=kind, task_id=task, agent_id="writer", data=data)  # type: ignore[arg-type]
        )
    return board


@pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
def test_worker_text_reaches_the_terminal_without_escapes_or_controls(attack: str) -> None:
    text = f"before {ATTACKS[attack]} after {MARKUP}"
    board = board_with(text)
    run = {
        "run_id": "r",
        "status": "failed",
        "query": text,
        "answer": text,
        "plan": [{"task_id": "t1", "capability": "c", "status": "failed", "error": text}],
    }
    for renderable in (
        render_board(board),
        render_plan(board),
        render_answer(board),
        run_view(run),
    ):
        out = printed(renderable)
        assert not UNSAFE & set(out), f"{attack}: {out!r}"
        assert "before" in out and "after" in out
        assert "[red]boom[/red]" in out  # shown as written, not read as markup


def test_clean_keeps_text_tabs_and_newlines_and_drops_whole_sequences() -> None:
    assert clean("a\tb\nc") == "a\tb\nc"
    assert clean("x\x1b[1;31mred\x1b[0m y") == "xred y"
    assert clean("t\x1b]0;title\x07ext") == "text"
    assert clean("ok\u202e") == "ok"


def test_clean_is_linear_on_hostile_input() -> None:
    # Each of these would make a backtracking pattern quadratic; here, one pass each.
    for hostile in ("\x1b[" + "0" * 200_000, "\x1b]" + "a" * 200_000, "\x1b[\x1b[" * 50_000):
        assert "\x1b" not in clean(hostile)


def test_json_lines_escape_c1_and_bidi_and_stay_the_same_json() -> None:
    event = {"type": "token", "token": "a\x9b31m b\u202ec \x1b[2J"}
    line = json.dumps(event, ensure_ascii=False)
    safe = json_safe(line)
    assert not UNSAFE & set(safe)
    assert json.loads(safe) == event
