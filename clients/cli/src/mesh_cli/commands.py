"""``mesh``: the command-line client of the agent mesh. HTTP only; never imports the server.

Commands (global ``--url``/``MESH_URL``, ``--discovery``/``MESH_DISCOVERY_URL``):

* ``mesh ask "QUERY" [--plan plan.json] [--json]``: run a request and show each sub-task as
  a live lane; ``--resume RUN_ID`` follows an existing run instead. Ctrl-C cancels the run
  and exits 130 (a second Ctrl-C stops waiting for the cancellation to finish).
  ``--approve``: the run stops after planning; the plan is shown and ``y`` approves it (it
  runs), anything else rejects it (exit 1); ``--yes`` approves without asking.
* ``mesh agents``: discovery's registered instances. ``mesh runs``: recent runs.
  ``mesh run RUN_ID``: one run's plan with node statuses and outputs.
* ``mesh token issue --agent NAME | --client NAME | --orchestrator | --admin [--ttl 12h]``:
  mint a token with the mesh secret (``MESH_AUTH_SECRET`` or ``MESH_AUTH_SECRET_FILE``).

Every request carries ``--token`` (else ``MESH_TOKEN``, else the file ``MESH_TOKEN_FILE``)
as ``Authorization: Bearer``; with none, nothing is sent (a mesh running open on loopback).

Exit status: 0 success (a run that ended ``completed`` or ``partial``), 1 a failed run or an
error (one line on stderr), 2 bad usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from pathlib import Path
from typing import IO, Any, Protocol

from pydantic import ValidationError
from rich.console import Console
from rich.live import Live

from mesh_auth import DEFAULT_TTL_SECONDS, AuthSettings, SecretError, parse_ttl, scope_of
from mesh_cli.board import LaneBoard
from mesh_cli.client import CliError, MeshClient, StreamLost
from mesh_cli.view import (
    agents_table,
    render_answer,
    render_board,
    render_plan,
    run_view,
    runs_table,
)
from mesh_contracts import ExecutionPlan, StreamEvent

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_DISCOVERY_URL = "http://127.0.0.1:9000"
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


class JsonSink:
    """``--json``: every StreamEvent as one JSON line (NDJSON), written as it arrives."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def event(self, ev: StreamEvent, board: LaneBoard) -> None:
        self.out.write(ev.model_dump_json() + "\n")
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
            if until_approval and board.awaiting_approval:
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


def ask_on_terminal(err: Console, *, yes: bool = False, read: Callable[[], str] = input) -> Decide:
    """The ``--approve`` prompt: the plan on stderr, then ``run this plan? [y/N]``; ``yes``
    approves without asking. The answer is read in a daemon thread, so Ctrl-C still
    cancels (and an unanswered prompt never holds the process at exit)."""

    async def decide(board: LaneBoard) -> bool:
        err.print(render_plan(board))
        if board.plan_reason:
            err.print(f"[dim]{board.plan_reason}[/]", highlight=False)
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
) -> int:
    """Run (or, with ``resume``, follow) one request to its ``done`` event; a run that
    awaits approval is put to ``decide`` (rejected without one).

    Returns the exit status. On ``interrupt``: POST the cancel, wait up to
    ``CANCEL_DRAIN_SECONDS`` for ``done`` (unless forced), return 130. Raises ``CliError``.
    """
    board = LaneBoard()
    stream = client.follow(resume, after) if resume else client.orchestrate(body or {})
    reader = asyncio.create_task(_session(client, stream, board, sink, decide))
    stop = asyncio.create_task(interrupt.requested.wait())
    try:
        await asyncio.wait({reader, stop}, return_when=asyncio.FIRST_COMPLETED)
        if reader.done():
            reader.result()  # a CliError surfaces here
            sink.finish(board)
            return _exit_status(board)
        run_id = board.run_id or resume
        if run_id is not None:
            err.print(f"[magenta]cancelling run {run_id}…[/]")
            with contextlib.suppress(CliError):
                await client.cancel(run_id)
            force = asyncio.create_task(interrupt.forced.wait())
            await asyncio.wait(
                {reader, force}, timeout=CANCEL_DRAIN_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
            force.cancel()
        sink.finish(board)
        err.print(f"[magenta]run {run_id or '(not started)'} cancelled[/]")
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


async def _run_ask(args: argparse.Namespace, client: MeshClient, out: Console, err: Console) -> int:
    body: dict[str, Any] | None = None
    if not args.resume:
        options: dict[str, Any] = {"on_disconnect": args.on_disconnect}
        if args.timeout is not None:
            options["timeout_seconds"] = args.timeout
        if args.approve or args.yes:
            options["approval"] = "required"
        plan = _load_plan(args.plan) if args.plan else None
        body = {"query": args.query or "", "plan": plan, "options": options}
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
        )
    finally:
        if handled:
            loop.remove_signal_handler(signal.SIGINT)


def _print_json(out: Console, data: Any) -> None:
    out.file.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _issue(args: argparse.Namespace, out: Console) -> int:
    """``mesh token issue``: print one token (and nothing else) on stdout."""
    kind, name = (
        ("agent", args.agent)
        if args.agent
        else ("client", args.client)
        if args.client
        else ("orchestrator", None)
        if args.orchestrator
        else ("admin", None)
    )
    try:
        scope = scope_of(kind, name)
        ttl = parse_ttl(args.ttl) if args.ttl else DEFAULT_TTL_SECONDS
        keys = AuthSettings().keys()
    except (ValueError, SecretError) as exc:
        raise CliError(str(exc)) from None
    if keys is None:
        raise CliError(
            "no mesh secret: set MESH_AUTH_SECRET or MESH_AUTH_SECRET_FILE to the secret the"
            " services use"
        )
    out.file.write(keys.issue(scope, ttl) + "\n")
    return EXIT_OK


def _token(args: argparse.Namespace) -> str | None:
    if getattr(args, "token", None):
        return str(args.token)
    try:
        return AuthSettings().static_token()
    except SecretError as exc:
        raise CliError(str(exc)) from None


async def _dispatch(args: argparse.Namespace, out: Console, err: Console) -> int:
    if args.command == "token":
        return _issue(args, out)
    async with MeshClient(args.url, args.discovery, _token(args)) as client:
        if args.command == "ask":
            return await _run_ask(args, client, out, err)
        if args.command == "agents":
            healthy = True if args.healthy else None
            data = await client.agents(capability=args.capability, healthy=healthy)
            _print_json(out, data) if args.json else out.print(agents_table(data))
        elif args.command == "runs":
            data = await client.runs(args.limit)
            _print_json(out, data) if args.json else out.print(runs_table(data))
        elif args.command == "run":
            data = await client.run(args.run_id)
            _print_json(out, data) if args.json else out.print(run_view(data))
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; defaults of ``--url``/``--discovery`` come from the environment."""
    parser = argparse.ArgumentParser(prog="mesh", description="Client of the agent mesh.")
    # The connection flags are accepted before or after the command; SUPPRESS keeps a
    # subcommand's absent flag from overwriting one given before it. The help text names the
    # default itself: ``%(default)s`` would show SUPPRESS (and crash ``mesh ask --help``).
    url = os.environ.get("MESH_URL", DEFAULT_URL)
    discovery = os.environ.get("MESH_DISCOVERY_URL", DEFAULT_DISCOVERY_URL)
    common = argparse.ArgumentParser(add_help=False)
    for target, top in ((parser, True), (common, False)):
        target.add_argument(
            "--url",
            default=url if top else argparse.SUPPRESS,
            help=f"orchestrator base URL (env MESH_URL, default {url})".replace("%", "%%"),
        )
        target.add_argument(
            "--discovery",
            default=discovery if top else argparse.SUPPRESS,
            help=f"discovery base URL (env MESH_DISCOVERY_URL, default {discovery})".replace(
                "%", "%%"
            ),
        )
        target.add_argument(
            "--token",
            default=None if top else argparse.SUPPRESS,
            help="bearer token (default: env MESH_TOKEN, else the file MESH_TOKEN_FILE)",
        )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_ask = sub.add_parser("ask", parents=[common], help="run a request, streaming its lanes")
    p_ask.add_argument("query", nargs="?", help="what to do (optional with --plan or --resume)")
    p_ask.add_argument("--plan", metavar="FILE", help="an ExecutionPlan JSON file (skips planning)")
    p_ask.add_argument("--json", action="store_true", help="print each event as a JSON line")
    p_ask.add_argument("--resume", metavar="RUN_ID", help="follow an existing run instead")
    p_ask.add_argument("--after", type=int, default=0, help="with --resume: Last-Event-ID")
    p_ask.add_argument("--timeout", type=float, help="run timeout in seconds")
    p_ask.add_argument(
        "--approve",
        action="store_true",
        help="stop after planning, show the plan and ask before running it (y/N)",
    )
    p_ask.add_argument("--yes", action="store_true", help="with --approve: approve without asking")
    p_ask.add_argument(
        "--on-disconnect",
        choices=("cancel", "continue"),
        default="cancel",
        help="what the run does if this client goes away (default cancel)",
    )

    p_agents = sub.add_parser("agents", parents=[common], help="list registered agent instances")
    p_agents.add_argument("--capability", help="only instances with this capability")
    p_agents.add_argument("--healthy", action="store_true", help="only passing instances")
    p_agents.add_argument("--json", action="store_true", help="print the raw JSON")

    p_runs = sub.add_parser("runs", parents=[common], help="list recent runs")
    p_runs.add_argument("--limit", type=int, default=20)
    p_runs.add_argument("--json", action="store_true", help="print the raw JSON")

    p_run = sub.add_parser("run", parents=[common], help="show one run's plan and outcome")
    p_run.add_argument("run_id")
    p_run.add_argument("--json", action="store_true", help="print the raw JSON")

    p_token = sub.add_parser("token", help="mint tokens with the mesh secret")
    token_sub = p_token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    p_issue = token_sub.add_parser(
        "issue", help="print a token for one scope (needs MESH_AUTH_SECRET[_FILE])"
    )
    who = p_issue.add_mutually_exclusive_group(required=True)
    who.add_argument("--agent", metavar="NAME", help="may register instances of this agent id")
    who.add_argument("--client", metavar="NAME", help="may orchestrate; sees only its own runs")
    who.add_argument(
        "--orchestrator", action="store_true", help="may read the registry and call workers"
    )
    who.add_argument("--admin", action="store_true", help="may do anything, see every run")
    p_issue.add_argument("--ttl", help="lifetime: 3600, 15m, 12h, 30d (default 12h)")
    return parser


def main(
    argv: list[str] | None = None, *, out: Console | None = None, err: Console | None = None
) -> int:
    """Entry point of the ``mesh`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "ask" and not (args.query or args.plan or args.resume):
        parser.error("ask needs a QUERY, a --plan or a --resume RUN_ID")
    out = out or Console()
    err = err or Console(stderr=True)
    try:
        return asyncio.run(_dispatch(args, out, err))
    except CliError as exc:
        err.print(f"mesh: error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_FAILED
    except KeyboardInterrupt:  # Ctrl-C outside `ask`, where nothing needs cancelling
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
