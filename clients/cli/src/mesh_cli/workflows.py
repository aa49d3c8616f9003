"""``mesh workflow``: saved workflows (named, versioned plan templates with parameters).

* ``mesh workflow save FILE``: save the workflow in the JSON file (a new version when its
  name exists); prints its name and version.
* ``mesh workflow list`` / ``show NAME [--version N]`` / ``delete NAME``.
* ``mesh workflow start NAME [--arg KEY=VALUE ...] [--version N]``: start a run with those
  arguments (a VALUE that is JSON is taken as JSON: ``--arg approved=true`` is a boolean,
  ``--arg topic=sea`` a string), then follow it as ``mesh ask --resume`` does: live lanes,
  Ctrl-C cancels; ``--json`` prints each event as a JSON line, ``--detach`` only the run id.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mesh_cli.ask import EXIT_OK, run_ask
from mesh_cli.client import CliError, MeshClient
from mesh_cli.terminal import clean, json_safe


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("workflow", parents=[common], help="saved workflows: save, list, start")
    wsub = p.add_subparsers(dest="workflow_command", required=True, metavar="ACTION")
    save = wsub.add_parser("save", parents=[common], help="save a workflow from a JSON file")
    save.add_argument("file")
    wsub.add_parser("list", parents=[common], help="the latest version of each workflow")
    show = wsub.add_parser("show", parents=[common], help="one workflow as JSON")
    show.add_argument("name")
    show.add_argument("--version", type=int)
    delete = wsub.add_parser("delete", parents=[common], help="delete every version")
    delete.add_argument("name")
    start = wsub.add_parser("start", parents=[common], help="start a run of a workflow")
    start.add_argument("name")
    start.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE")
    start.add_argument("--version", type=int)
    start.add_argument("--json", action="store_true", help="print each event as a JSON line")
    start.add_argument("--detach", action="store_true", help="print the run id and return")


def arguments(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs as the arguments object (a VALUE that parses as JSON is JSON)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--arg {pair!r}: expected KEY=VALUE")
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


def _load(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise CliError(f"{path} is not JSON: {exc}") from None


async def run_workflow_command(
    args: argparse.Namespace, client: MeshClient, out: Console, err: Console
) -> int:
    action = args.workflow_command
    if action == "save":
        spec = _load(args.file)
        saved = await client.save_workflow(spec)
        out.print(f"saved workflow {clean(saved['name'])} version {saved['version']}")
    elif action == "list":
        table = Table("name", "version", "owner", "parameters", "description")
        for w in await client.workflows():
            params = ", ".join((w.get("parameters") or {}).get("properties") or {})
            table.add_row(
                clean(w["name"]), str(w["version"]), clean(str(w.get("owner") or "")),
                clean(params), clean(str(w.get("description") or ""))[:80],
            )  # fmt: skip
        out.print(table)
    elif action == "show":
        shown = await client.workflow(args.name, args.version)
        out.file.write(json_safe(json.dumps(shown, indent=2, ensure_ascii=False)) + "\n")
    elif action == "delete":
        await client.delete_workflow(args.name)
        out.print(f"deleted workflow {clean(args.name)}")
    elif action == "start":
        body: dict[str, Any] = {"arguments": arguments(args.arg)}
        if args.version is not None:
            body["version"] = args.version
        started = await client.start_workflow(args.name, body)
        wf = started["workflow"]
        err.print(f"run {started['run_id']} of workflow {clean(wf['name'])} v{wf['version']}")
        if args.detach:
            out.print(started["run_id"])
            return EXIT_OK
        follow = argparse.Namespace(
            resume=started["run_id"], after=0, json=args.json, yes=False, approve=False
        )
        return await run_ask(follow, client, out, err)
    return EXIT_OK
