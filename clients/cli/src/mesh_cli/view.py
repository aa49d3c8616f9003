"""How ``mesh`` draws things: pure functions from data to rich renderables, no I/O.

``render_board`` is the live view of ``mesh ask`` (one panel per sub-task lane);
``agents_table``, ``runs_table`` and ``run_view`` draw the other commands' answers.

Every string that came from the mesh (worker text, names, errors, URLs) reaches Rich only
through ``terminal.plain``: escape sequences and control characters removed, never read as
markup; links are ``Style(link=...)`` objects, never parsed from a style string.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.style import Style
from rich.table import Table
from rich.text import Text

from mesh_cli.board import Lane, LaneBoard
from mesh_cli.terminal import clean, plain
from mesh_contracts.readable import brief

STATUS_STYLE = {
    "pending": "dim",
    "running": "cyan",
    "completed": "green",
    "partial": "yellow",
    "failed": "red",
    "skipped": "yellow",
    "cancelled": "magenta",
    "cancelling": "magenta",
    "connecting": "dim",
}
TAIL_LINES = 4


def _status(status: str | None) -> Text:
    value = clean(status or "?")
    return Text(value, style=STATUS_STYLE.get(value, "white"))


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(clean(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tail(text: str, lines: int = TAIL_LINES, width: int = 400) -> str:
    return "\n".join(text[-width:].splitlines()[-lines:])


def render_lane(lane: Lane) -> Panel:
    """One sub-task: agent, status, streamed text, last message, progress, artifacts."""
    head = Text()
    head.append(clean(lane.agent_id or "unassigned"), style="bold")
    if lane.instance_id and lane.instance_id != lane.agent_id:
        head.append(f" ({clean(lane.instance_id)})", style="dim")
    head.append("  ")
    head.append_text(_status(lane.status))
    if lane.tokens:
        head.append(f"  {lane.tokens} tokens", style="dim")
    if lane.messages:
        head.append(f"  {lane.messages} messages", style="dim")
    if lane.iteration:
        head.append(f"  iteration {lane.iteration}", style="dim")
    if lane.reason:
        head.append(f"  ({clean(lane.reason)})", style="dim")
    parts: list[RenderableType] = [head]
    if lane.condition:
        parts.append(Text("⑂ " + _short(lane.condition, 300), style="cyan"))
    if lane.text_tail:
        parts.append(plain(_tail(clean(lane.text_tail))))
    if lane.last_message:
        parts.append(Text("» " + _short(lane.last_message, 200), style="italic"))
    if lane.progress is not None:
        row = Table.grid(padding=(0, 1))
        row.add_column(width=30)
        row.add_column()
        p = lane.progress
        bar = ProgressBar(total=float(p.total) if p.total else None, completed=float(p.step or 0))
        label = f"{p.step}/{p.total}" if p.total else str(p.step or "")
        if p.message:
            label += f" {clean(p.message)}"
        row.add_row(bar, Text(label, style="dim"))
        parts.append(row)
    for art in lane.artifacts:
        line = Text("↳ ")
        url = clean(art.url) if art.url else None
        link = url if url and url.startswith(("http://", "https://")) else None
        line.append(clean(art.name), style=Style(bold=True, link=link))
        if url and url != art.name:
            line.append(f"  {url[:300]}", style="blue underline")
        if art.size_bytes is not None:
            line.append(f"  {art.size_bytes} B", style="dim")
        parts.append(line)
    if lane.error:
        code = f"[{clean(lane.error_code)}] " if lane.error_code else ""
        parts.append(Text(f"✗ {code}{clean(lane.error)}", style="red"))
    elif lane.status == "completed" and not lane.text_tail and lane.output is not None:
        # as the user reads it: a lookup's best passage and source, never its JSON
        parts.append(Text(clean(brief(lane.output, 200)), style="green"))
    title = Text(clean(lane.task_id), style="bold")
    if lane.capability:
        title.append(f" · {clean(lane.capability)}", style="dim")
    return Panel(Group(*parts), title=title, title_align="left", border_style=_border(lane))


def _border(lane: Lane) -> str:
    return STATUS_STYLE.get(lane.status, "white") if lane.status != "pending" else "bright_black"


def render_header(board: LaneBoard) -> Text:
    head = Text("run ", style="dim")
    head.append(clean(board.run_id or "…"), style="bold")
    head.append("  ")
    head.append_text(_status(board.status))
    if board.planner:
        head.append(f"  planner: {clean(board.planner)}", style="dim")
    done = sum(1 for lane in board.lanes.values() if lane.finished)
    if board.lanes:
        head.append(f"  {done}/{len(board.lanes)} tasks finished", style="dim")
    return head


def render_board(board: LaneBoard) -> Group:
    """The whole live view: a header line, one panel per lane, run-level errors."""
    parts: list[RenderableType] = [render_header(board)]
    parts.extend(render_lane(lane) for lane in board.lanes.values())
    parts.extend(Text(f"✗ {clean(err)}", style="red") for err in board.errors)
    return Group(*parts)


def render_plan(board: LaneBoard) -> Table:
    """The plan a run awaits approval for: each task, its capability, what it reads, its
    input (shortened)."""
    table = Table(title=plain(f"plan by {board.planner or '?'}"), title_justify="left")
    for col in ("task", "capability", "after", "input"):
        table.add_column(col, overflow="fold")
    for t in board.plan_tasks:
        table.add_row(
            plain(t.get("task_id")),
            plain(t.get("agent_id") or t.get("capability")),
            plain(", ".join(str(x) for x in t.get("depends_on") or []) or "-"),
            plain(_short(json.dumps(t.get("input") or {}, ensure_ascii=False), 120)),
        )
    return table


def render_answer(board: LaneBoard) -> Panel:
    """The final answer, titled with the run's outcome."""
    status = board.final_status or board.result_status or board.status
    title = Text("answer · ")
    title.append_text(_status(status))
    body = plain(board.answer) if board.answer else Text("(no answer)", style="dim")
    return Panel(body, title=title, title_align="left", border_style=STATUS_STYLE.get(status, ""))


def _gpu(resources: dict[str, Any]) -> str:
    if not resources.get("gpu"):
        return "-"
    label = clean(resources.get("gpu_model") or resources.get("device") or "gpu")
    if (resources.get("gpu_count") or 1) > 1:
        label += f" x{resources['gpu_count']}"
    if resources.get("vram_mb"):
        label += f" {int(resources['vram_mb']) // 1024} GiB"
    return label


def agents_table(records: list[dict[str, Any]]) -> Table:
    """Discovery's ``GET /v1/agents`` answer (AgentRecord JSON) as a table."""
    table = Table(title=f"{len(records)} agent instance(s)", title_justify="left")
    for col in ("agent", "instance", "mode", "capabilities", "health", "GPU", "endpoint"):
        table.add_column(col, overflow="fold")
    for rec in sorted(
        records, key=lambda r: (r["descriptor"]["agent_id"], r["descriptor"]["instance_id"])
    ):
        d = rec["descriptor"]
        health = str(rec.get("status", "?"))
        table.add_row(
            plain(d["agent_id"]),
            plain(d.get("instance_id", "")),
            plain(d.get("streaming_mode", "")),
            plain(", ".join(str(c) for c in d.get("capabilities", []))),
            plain(health, style="green" if health == "passing" else "red"),
            plain(_gpu(d.get("resources") or {})),
            plain(d.get("endpoint") or "(declared)"),
        )
    return table


def _when(ts: Any) -> str:
    if ts is None:
        return "-"
    try:
        if isinstance(ts, int | float):
            return datetime.fromtimestamp(float(ts)).strftime("%Y-%m-%d %H:%M:%S")
        return datetime.fromisoformat(str(ts)).strftime("%Y-%m-%d %H:%M:%S")
    except (ValueError, OSError, OverflowError):
        return str(ts)


def runs_table(runs: list[dict[str, Any]]) -> Table:
    """``GET /v1/runs`` as a table, newest first as the orchestrator sent it."""
    table = Table(title=f"{len(runs)} run(s)", title_justify="left")
    for col in ("run", "status", "created", "finished", "query"):
        table.add_column(col, overflow="fold")
    for run in runs:
        table.add_row(
            plain(run.get("run_id", "")),
            _status(run.get("status")),
            plain(_when(run.get("created_at"))),
            plain(_when(run.get("finished_at"))),
            plain(_short(run.get("query") or "", 60)),
        )
    return table


def thread_table(thread: dict[str, Any]) -> Table:
    """``GET /v1/threads/{id}``: its runs, oldest first, each with its answer's start."""
    runs = thread.get("runs") or []
    title = f"thread {clean(thread.get('thread_id'))}: {len(runs)} run(s)"
    table = Table(title=plain(title), title_justify="left")
    for col in ("#", "run", "status", "finished", "query", "answer"):
        table.add_column(col, overflow="fold")
    for n, run in enumerate(runs, 1):
        table.add_row(
            plain(str(n)),
            plain(run.get("run_id", "")),
            _status(run.get("status")),
            plain(_when(run.get("finished_at"))),
            plain(_short(run.get("query") or "", 50)),
            plain(_short(run.get("answer") or "", 60)),
        )
    return table


def run_view(run: dict[str, Any]) -> Group:
    """``GET /v1/runs/{id}``: header, the plan with each node's status and output, answer."""
    head = Text("run ", style="dim")
    head.append(clean(run.get("run_id")), style="bold")
    head.append("  ")
    head.append_text(_status(run.get("status")))
    head.append(f"  created {clean(_when(run.get('created_at')))}", style="dim")
    head.append(f"  finished {clean(_when(run.get('finished_at')))}", style="dim")
    table = Table(title=plain(_short(run.get("query") or "", 100)), title_justify="left")
    for col in ("task", "capability", "depends on", "agent", "status", "output / error"):
        table.add_column(col, overflow="fold")
    for node in run.get("plan") or []:
        outcome: Text
        if node.get("error"):
            outcome = Text(_short(node["error"], 120), style="red")
        else:
            out = node.get("output")
            outcome = Text(clean(brief(out, 120)) if out not in (None, "") else "")
        table.add_row(
            plain(node.get("task_id")),
            plain(node.get("capability", "")),
            plain(", ".join(str(x) for x in node.get("depends_on") or []) or "-"),
            plain(node.get("assigned_agent") or node.get("agent_id") or "-"),
            _status(node.get("status")),
            outcome,
        )
    answer = run.get("answer")
    parts: list[RenderableType] = [head, table]
    if answer:
        parts.append(Panel(plain(answer), title="answer", title_align="left"))
    return Group(*parts)
