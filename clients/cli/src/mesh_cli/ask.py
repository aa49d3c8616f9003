"""``mesh ask``: run a request (or follow one: ``--resume``) and show each sub-task as a live
lane, or print its events as JSON lines (``--json``). A dropped stream is resumed with
``Last-Event-ID``; Ctrl-C cancels the run; ``--approve`` shows the plan of a run that waits
for approval and asks before it runs; a worker's question (``input_required``) is put to
the user on the terminal (its choices numbered) and answered through the API.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from pathlib import Path
from typing import IO, Any, Protocol

from pydantic import ValidationError
from rich.console import Console
from rich.live import Live

from mesh_cli.board import Lane, LaneBoard
from mesh_cli.client import CliError, MeshClient, StreamLost
from mesh_cli.terminal import json_safe, plain
from mesh_cli.view import render_answer, render_board, render_plan
from mesh_contracts import ExecutionPlan, StreamEvent

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
RECONNECTS = 3  # a dropped stream is resumed with Last-Event-ID this many times
CANCEL_DRAIN_SECONDS = 5.0  # after a cancel, how long to wait for the run's `done`
REFRESH_SECONDS = 0.1  # the live view redraws at most this often, however fast tokens come


class Interrupt:
    """Ctrl-C as the ``ask`` loop sees it: the first asks for a cancel, the second forces."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.forced = asyncio.Event()

    def signal(self) -> None:
        if self.requested.is_set():
            self.forced.set()
        self.requested.set()


class Sink(Protocol):
    def event(self, ev: StreamEvent, board: LaneBoard) -> None: ...
    def finish(self, board: LaneBoard) -> None: ...
    def pause(self, board: LaneBoard) -> None: ...  # before a prompt; the next event resumes


# Asked with the board of a run awaiting approval: True approves it, False rejects it.
Decide = Callable[[LaneBoard], Awaitable[bool]]
# Asked with the lane whose worker asked the user: the answer to its question.
Answer = Callable[[Lane], Awaitable[Any]]


class JsonSink:
    """``--json``: every StreamEvent as one JSON line (NDJSON), written as it arrives."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def event(self, ev: StreamEvent, board: LaneBoard) -> None:
        self.out.write(json_safe(ev.model_dump_json()) + "\n")
        self.out.flush()

    def finish(self, board: LaneBoard) -> None:
        pass

    def pause(self, board: LaneBoard) -> None:
        pass


class LiveSink:
    """The rich live view: lanes redrawn at most every ``REFRESH_SECONDS``, then the answer."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = Live(console=console, auto_refresh=False, transient=False)
        self.live.start()
        self._last = 0.0

    def pause(self, board: LaneBoard) -> None:
        if self.live.is_started:
            self.live.update(render_board(board), refresh=True)
            self.live.stop()
            if not self.console.is_terminal:
                self.console.line()  # off a terminal, Live leaves its last line unterminated
            self.live = Live(console=self.console, auto_refresh=False, transient=False)

    def event(self, ev: StreamEvent, board: LaneBoard) -> None:
        if not self.live.is_started:
            self.live.start()
        now = time.monotonic()
        if now - self._last >= REFRESH_SECONDS or ev.type in ("plan", "status", "done"):
            self._last = now
            self.live.update(render_board(board), refresh=True)

    def finish(self, board: LaneBoard) -> None:
        if not self.live.is_started:
            self.live.start()
        self.live.update(render_board(board), refresh=True)
        self.live.stop()
        if not self.console.is_terminal:
            self.console.line()  # off a terminal, Live leaves its last line unterminated
        if board.answer is not None or board.done:
            self.console.print(render_answer(board))


async def _consume(
    client: MeshClient,
    first: AsyncGenerator[StreamEvent, None],
    board: LaneBoard,
    sink: Sink,
    *,
    until_approval: bool = True,
) -> None:
    """Feed the board until ``done`` (or, ``until_approval``, until the run awaits
    approval), resuming a dropped stream from the last seq seen."""
    stream = first
    attempts = 0
    while True:
        try:
            async with contextlib.aclosing(stream) as events:
                async for ev in events:
                    if board.apply(ev):
                        sink.event(ev, board)
                    if board.done:
                        return
            if (until_approval and board.awaiting_approval) or board.awaiting_input:
                return  # the orchestrator ends a waiting run's stream without done
            raise StreamLost("the orchestrator closed the event stream before the run's end")
        except StreamLost:
            if board.run_id is None or attempts >= RECONNECTS:
                raise
            attempts += 1
            stream = client.follow(board.run_id, board.last_seq)


async def _session(
    client: MeshClient,
    first: AsyncGenerator[StreamEvent, None],
    board: LaneBoard,
    sink: Sink,
    decide: Decide | None,
    answer: Answer | None = None,
) -> None:
    """The run to its ``done``; a run that stops awaiting approval is approved or rejected
    as ``decide`` says (rejected when nobody can be asked), then followed on."""
    await _consume(client, first, board, sink)
    if board.awaiting_approval and board.run_id is not None:
        sink.pause(board)
        approve = await decide(board) if decide is not None else False
        await client.decide(board.run_id, approve)
        follow = client.follow(board.run_id, board.last_seq)
        await _consume(client, follow, board, sink, until_approval=False)
    # A worker asked the user: answer its question, follow on (it may ask again).
    while board.awaiting_input and board.run_id is not None and answer is not None:
        questions = board.open_questions()
        if not questions:
            break
        sink.pause(board)
        lane = questions[0]
        await client.answer(board.run_id, lane.task_id, await answer(lane))
        follow = client.follow(board.run_id, board.last_seq)
        await _consume(client, follow, board, sink, until_approval=False)


def ask_on_terminal(err: Console, *, yes: bool = False, read: Callable[[], str] = input) -> Decide:
    """The ``--approve`` prompt: the plan on stderr, then ``run this plan? [y/N]``; ``yes``
    approves without asking. The answer is read in a daemon thread, so Ctrl-C still
    cancels (and an unanswered prompt never holds the process at exit)."""

    async def decide(board: LaneBoard) -> bool:
        err.print(render_plan(board))
        if board.plan_reason:
            err.print(plain(board.plan_reason, style="dim"), highlight=False)
        if yes:
            err.print("approved (--yes)")
            return True
        err.print("run this plan? [y/N] ", end="", markup=False)
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str] = loop.create_future()

        def reader() -> None:
            try:
                line = read()
            except (EOFError, OSError):
                line = ""
            loop.call_soon_threadsafe(_settle, answer, line)

        threading.Thread(target=reader, name="approve-prompt", daemon=True).start()
        return (await answer).strip().lower() in ("y", "yes")

    return decide


def answer_on_terminal(err: Console, *, read: Callable[[], str] = input) -> Answer:
    """The prompt for a worker's question: the question and its numbered choices on
    stderr; a choice's number or text answers (read in a daemon thread, as ``--approve``)."""

    async def answer(lane: Lane) -> Any:
        q = lane.question or {}
        choices = [str(c) for c in q.get("choices") or []]
        err.print(plain(f"{lane.task_id} asks: {q.get('question', '?')}", style="bold"))
        for i, choice in enumerate(choices, 1):
            err.print(plain(f"  {i}. {choice}"))
        err.print("> ", end="", markup=False)
        loop = asyncio.get_running_loop()
        line: asyncio.Future[str] = loop.create_future()

        def reader() -> None:
            try:
                text = read()
            except (EOFError, OSError):
                text = ""
            loop.call_soon_threadsafe(_settle, line, text)

        threading.Thread(target=reader, name="input-prompt", daemon=True).start()
        text = (await line).strip()
        if choices and text.isdigit() and 1 <= int(text) <= len(choices):
            return choices[int(text) - 1]
        return text

    return answer


def _settle(future: asyncio.Future[str], value: str) -> None:
    if not future.done():  # the run may have been cancelled meanwhile
        future.set_result(value)


def _exit_status(board: LaneBoard) -> int:
    return EXIT_OK if board.final_status in ("completed", "partial") else EXIT_FAILED


async def ask(
    client: MeshClient,
    *,
    body: dict[str, Any] | None,
    resume: str | None,
    after: int,
    sink: Sink,
    interrupt: Interrupt,
    err: Console,
    decide: Decide | None = None,
    answer: Answer | None = None,
) -> int:
    """Run (or, with ``resume``, follow) one request to its ``done`` event; a run that
    awaits approval is put to ``decide`` (rejected without one).

    Returns the exit status. On ``interrupt``: POST the cancel, wait up to
    ``CANCEL_DRAIN_SECONDS`` for ``done`` (unless forced), return 130. Raises ``CliError``.
    """
    board = LaneBoard()
    stream = client.follow(resume, after) if resume else client.orchestrate(body or {})
    reader = asyncio.create_task(_session(client, stream, board, sink, decide, answer))
    stop = asyncio.create_task(interrupt.requested.wait())
    try:
        await asyncio.wait({reader, stop}, return_when=asyncio.FIRST_COMPLETED)
        if reader.done():
            reader.result()  # a CliError surfaces here
            sink.finish(board)
            return _exit_status(board)
        run_id = board.run_id or resume
        if run_id is not None:
            err.print(plain(f"cancelling run {run_id}…", style="magenta"))
            with contextlib.suppress(CliError):
                await client.cancel(run_id)
            force = asyncio.create_task(interrupt.forced.wait())
            await asyncio.wait(
                {reader, force}, timeout=CANCEL_DRAIN_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
            force.cancel()
        sink.finish(board)
        err.print(plain(f"run {run_id or '(not started)'} cancelled", style="magenta"))
        return EXIT_INTERRUPTED
    finally:
        for task in (reader, stop):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, CliError):
            await reader


def _load_plan(path: str) -> dict[str, Any]:
    try:
        raw = json.loads(Path(path).read_text())
    except OSError as exc:
        raise CliError(f"cannot read plan {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise CliError(f"plan {path} is not JSON: {exc}") from None
    try:
        return ExecutionPlan.model_validate(raw).model_dump(mode="json")
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise CliError(
            f"plan {path} is invalid: {loc + ': ' if loc else ''}{first['msg']}"
        ) from None


async def run_ask(args: argparse.Namespace, client: MeshClient, out: Console, err: Console) -> int:
    body: dict[str, Any] | None = None
    if not args.resume:
        options: dict[str, Any] = {"on_disconnect": args.on_disconnect}
        if args.timeout is not None:
            options["timeout_seconds"] = args.timeout
        if args.approve or args.yes:
            options["approval"] = "required"
        plan = _load_plan(args.plan) if args.plan else None
        body = {"query": args.query or "", "plan": plan, "options": options}
        if args.thread:
            thread = await client.new_thread() if args.thread == "new" else args.thread
            err.print(plain(f"thread {thread}", style="dim"))
            body |= {"thread_id": thread, "multitask_strategy": args.multitask}
    sink: Sink = JsonSink(out.file) if args.json else LiveSink(out)
    interrupt = Interrupt()
    loop = asyncio.get_running_loop()
    handled = False
    with contextlib.suppress(NotImplementedError, RuntimeError):  # no signals off main thread
        loop.add_signal_handler(signal.SIGINT, interrupt.signal)
        handled = True
    try:
        return await ask(
            client,
            body=body,
            resume=args.resume,
            after=args.after,
            sink=sink,
            interrupt=interrupt,
            err=err,
            decide=ask_on_terminal(err, yes=args.yes),
            answer=answer_on_terminal(err),
        )
    finally:
        if handled:
            loop.remove_signal_handler(signal.SIGINT)
