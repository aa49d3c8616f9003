"""``mesh``: the command-line client of the agent mesh. HTTP only; never imports the server.

Commands (global ``--url``/``MESH_URL``, ``--discovery``/``MESH_DISCOVERY_URL``):

* ``mesh ask "QUERY" [--plan plan.json] [--json]``: run a request and show each sub-task as
  a live lane; ``--resume RUN_ID`` follows an existing run instead. Ctrl-C cancels the run
  and exits 130 (a second Ctrl-C stops waiting for the cancellation to finish).
  ``--approve``: the run stops after planning; the plan is shown and ``y`` approves it (it
  runs), anything else rejects it (exit 1); ``--yes`` approves without asking.
  ``--thread ID`` (or ``new``): the run is a turn of that thread and sees the earlier ones
  ("now translate that into German"); ``--multitask`` says what happens while the thread's
  last run still runs (``enqueue``, ``reject``, ``interrupt``).
* ``mesh thread ID``: a thread's runs, oldest first.
* ``mesh agents``: discovery's registered instances. ``mesh runs``: recent runs.
  ``mesh run RUN_ID``: one run's plan with node statuses and outputs.
* ``mesh pause RUN_ID [--cancel-running]`` / ``mesh resume RUN_ID``: pause a run (nothing
  new starts; ``--cancel-running`` stops its running sub-tasks too) and resume it.
* ``mesh workflow save|list|show|delete|start``: saved workflows (``mesh_cli.workflows``);
  ``start NAME --arg KEY=VALUE`` runs one and follows it as ``ask`` does.
* ``mesh keys init|rotate``, ``mesh token issue|revoke``, ``mesh certs init``: the
  operator's credentials (``mesh_cli.credentials``).

Every request carries ``--token`` (else ``MESH_TOKEN``, else the file ``MESH_TOKEN_FILE``)
as ``Authorization: Bearer``; with none, nothing is sent (a mesh running open on loopback).
With ``MESH_TLS_CERT_FILE``/``MESH_TLS_KEY_FILE``/``MESH_TLS_CA_FILE`` set it presents that
certificate and trusts only that CA (a mesh in mTLS mode).

Exit status: 0 success (a run that ended ``completed`` or ``partial``), 1 a failed run or an
error (one line on stderr), 2 bad usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from mesh_auth import AuthSettings, SecretError, TlsSettings
from mesh_cli import credentials, scaffold, workflows
from mesh_cli.ask import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    run_ask,
)
from mesh_cli.client import CliError, MeshClient
from mesh_cli.settings import CliSettings
from mesh_cli.terminal import json_safe, plain
from mesh_cli.view import (
    agents_table,
    run_view,
    runs_table,
    thread_table,
)
from mesh_cli.workflows import run_workflow_command


def _print_json(out: Console, data: Any) -> None:
    out.file.write(json_safe(json.dumps(data, indent=2, ensure_ascii=False)) + "\n")


def _token(args: argparse.Namespace) -> str | None:
    if getattr(args, "token", None):
        return str(args.token)
    try:
        return AuthSettings().static_token()
    except SecretError as exc:
        raise CliError(str(exc)) from None


async def _dispatch(args: argparse.Namespace, out: Console, err: Console) -> int:
    if args.command in ("keys", "token", "certs"):
        return credentials.run(args, out.file, err.file)
    if args.command == "new-worker":
        added = scaffold.new_worker(Path(args.root), args.name, args.port)
        out.print(scaffold.next_steps(added), markup=False, highlight=False, soft_wrap=True)
        return EXIT_OK
    try:
        tls = TlsSettings().client_context()
    except SecretError as exc:
        raise CliError(str(exc)) from None
    async with MeshClient(args.url, args.discovery, _token(args), verify=tls) as client:
        if args.command == "ask":
            return await run_ask(args, client, out, err)
        if args.command == "workflow":
            return await run_workflow_command(args, client, out, err)
        if args.command == "agents":
            healthy = True if args.healthy else None
            data = await client.agents(capability=args.capability, healthy=healthy)
            _print_json(out, data) if args.json else out.print(agents_table(data))
        elif args.command == "runs":
            data = await client.runs(args.limit)
            _print_json(out, data) if args.json else out.print(runs_table(data))
        elif args.command == "pause":
            status = await client.pause(args.run_id, args.cancel_running)
            out.print(plain(f"run {args.run_id} {status}"))
        elif args.command == "resume":
            status = await client.resume(args.run_id)
            out.print(plain(f"run {args.run_id} {status}"))
        elif args.command == "run":
            data = await client.run(args.run_id)
            _print_json(out, data) if args.json else out.print(run_view(data))
        elif args.command in ("approve", "reject"):
            decision = getattr(args, "decision", None)
            status = await client.decide(args.run_id, args.command == "approve", decision)
            out.print(plain(f"{args.run_id}: {status}"), highlight=False)
        elif args.command == "thread":
            data = await client.thread(args.thread_id)
            _print_json(out, data) if args.json else out.print(thread_table(data))
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; defaults of ``--url``/``--discovery`` come from the environment."""
    parser = argparse.ArgumentParser(prog="mesh", description="Client of the agent mesh.")
    # The connection flags are accepted before or after the command; SUPPRESS keeps a
    # subcommand's absent flag from overwriting one given before it. The help text names the
    # default itself: ``%(default)s`` would show SUPPRESS (and crash ``mesh ask --help``).
    settings = CliSettings()
    url, discovery = settings.url, settings.discovery_url
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

    p_ask.add_argument(
        "--thread",
        metavar="THREAD_ID",
        help="run on this thread (new: start one), seeing its earlier runs",
    )
    p_ask.add_argument(
        "--multitask",
        choices=("enqueue", "reject", "interrupt"),
        default="enqueue",
        help="with --thread, while its last run still runs (default enqueue)",
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

    p_approve = sub.add_parser(
        "approve", parents=[common], help="approve a run awaiting approval (plan or tasks in doubt)"
    )
    p_approve.add_argument("run_id")
    p_approve.add_argument(
        "--decision",
        choices=("rerun", "fail"),
        default=None,
        help="for a run parked with tasks in doubt: run them again (default) or mark them failed",
    )
    p_reject = sub.add_parser("reject", parents=[common], help="reject a run awaiting approval")
    p_reject.add_argument("run_id")
    p_thread = sub.add_parser("thread", parents=[common], help="show a thread's runs")
    p_thread.add_argument("thread_id")
    p_thread.add_argument("--json", action="store_true", help="print the raw JSON")

    p_pause = sub.add_parser("pause", parents=[common], help="pause a run (nothing new starts)")
    p_pause.add_argument("run_id")
    p_pause.add_argument(
        "--cancel-running", action="store_true", help="stop its running sub-tasks too"
    )
    p_resume = sub.add_parser("resume", parents=[common], help="resume a paused run")
    p_resume.add_argument("run_id")

    workflows.add_commands(sub, common)
    credentials.add_commands(sub)

    p_new = sub.add_parser(
        "new-worker", help="scaffold a worker package and add it to services/workers/workers.txt"
    )
    p_new.add_argument("name", help="the worker's name: lowercase words joined by '-'")
    p_new.add_argument("--port", type=int, help="its default port (default: the next free one)")
    p_new.add_argument("--root", default=".", help="the repository's root (default: .)")
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
        err.print(plain(f"mesh: error: {exc}"), highlight=False, soft_wrap=True)
        return EXIT_FAILED
    except KeyboardInterrupt:  # Ctrl-C outside `ask`, where nothing needs cancelling
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
