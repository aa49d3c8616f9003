"""``python -m bench.registry``: what one discovery process sustains, this commit and a
previous one side by side (``make bench-registry``).

For each code version (``after``: this tree; ``before``: a commit's sources extracted with
``git archive`` into a temporary folder and put first on ``PYTHONPATH``) one discovery process is started with a
mesh secret (tokens are checked, as in production), ``--instances`` instances are registered
(20 agents, each with its own agent token; each instance serves one of ``cap000``,
``cap001``, ... with 150 instances per capability, and a one-hour lease), and then:

* **heartbeats/s**: ``wrk`` (one thread, 32 connections, Debian's package) sends ``PUT
  /v1/agents/{id}/heartbeat`` with a load body, round robin over every instance, each with
  its agent's token, for ``--seconds``; discovery's CPU seconds (``/proc``) and wrk's (its
  rusage) are read around it, so the figure says which side ran out of CPU;
* **filtered list**: ``GET /v1/agents?capability=cap000`` (150 records) with an
  orchestrator token, one connection (latency p50/p99: a request's own service time) and
  eight (requests/s);

then ``--more`` instances in all are registered and the list is measured again. Every
process is stopped by its id; the extracted sources are removed. Without ``wrk`` on PATH the run says
so and exits 1 (``make bench-registry`` installs it with apt-get where it can).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from rich import box
from rich.console import Console
from rich.table import Table

from bench.procs import cpu_seconds, pid_of
from mesh_testkit import ServiceProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "registry_results.json"
PER_CAPABILITY = 150
AGENTS = 20
# The source folders a discovery process imports from (its own and the libraries it uses).
SOURCES = ("services/discovery/src", "libs/contracts/src", "libs/auth/src", "libs/telemetry/src")
LOAD_BODY = '{"load":{"slots_in_use":0,"queue_depth":0,"max_concurrency":4}}'
# The commit before the in-memory index: the default "before".
INDEX_MODULE = "services/discovery/src/mesh_discovery/index.py"

_DONE_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"non_2xx":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.registry", description=__doc__)
    p.add_argument("--instances", type=int, default=3000)
    p.add_argument("--more", type=int, default=10_000, help="instances for the second list figure")
    p.add_argument("--seconds", type=float, default=10.0, help="each wrk run")
    p.add_argument(
        "--before",
        default="auto",
        help="commit to compare with ('auto': the one before the in-memory index; 'none')",
    )
    p.add_argument("--quick", action="store_true", help="300 / 1,000 instances, 2 s runs")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    if args.quick:
        args.instances, args.more, args.seconds = 300, 1000, 2.0
    return args  # fmt: skip


def _git(*argv: str) -> str:
    return subprocess.run(
        ["git", *argv], cwd=ROOT, check=True, capture_output=True, text=True, timeout=60
    ).stdout.strip()


def default_before() -> str | None:
    """The parent of the commit that added the in-memory index, if this history has it."""
    added = _git("log", "-1", "--format=%H", "--diff-filter=A", "--", INDEX_MODULE)
    return f"{added}^" if added else None


@contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """``rev``'s files (``git archive``, no worktree: nothing in the repository's own git
    state changes) in a temporary folder, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="mesh-bench-before-"))
    try:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", rev, *SOURCES],
            cwd=ROOT, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        subprocess.run(
            ["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True, timeout=120
        )
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Discovery:
    """One discovery process from ``tree``'s sources, with a fresh database and a secret."""

    def __init__(self, tree: Path, secret: str, tmp: Path) -> None:
        port = free_port()
        env = {
            "DISCOVERY_PORT": str(port),
            "DISCOVERY_DB_PATH": str(tmp / f"discovery-{port}.sqlite3"),
            "DISCOVERY_LOG_LEVEL": "warning",
            "MESH_AUTH_SECRET": secret,
            # The heartbeat rate is the measurement: no per-agent write bound (a setting
            # the revisions before it ignore).
            "DISCOVERY_AGENT_WRITES_PER_SECOND": "1000000000",
            "PYTHONPATH": os.pathsep.join(str(tree / s) for s in SOURCES),
        }
        self.proc = ServiceProcess("mesh_discovery", port, env, cwd=tmp)
        self.url = self.proc.url
        self.tree = tree

    def __enter__(self) -> Discovery:
        self.proc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.stop(grace=5)

    @property
    def pid(self) -> int:
        return pid_of(self.proc)


def imported_from(tree: Path) -> str:
    """Where ``mesh_discovery`` is imported from with ``tree``'s sources first (a check
    that the "before" process really runs the old code)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(tree / s) for s in SOURCES)}
    out = subprocess.run(
        [sys.executable, "-c", "import mesh_discovery; print(mesh_discovery.__file__)"],
        env=env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return out.stdout.strip()


def descriptor(i: int) -> dict[str, Any]:
    return {
        "agent_id": f"agent{i % AGENTS:02d}",
        "instance_id": f"inst{i:05d}",
        "endpoint": f"http://127.0.0.1:{20000 + i % 20000}",
        "capabilities": [f"cap{i // PER_CAPABILITY:03d}"],
        "streaming_mode": "dynamic_events",
        "description": "a registry benchmark instance",
        "tags": [f"zone{i % 3}"],
    }


async def register(url: str, admin: str, start: int, stop: int) -> None:
    """Instances ``start`` .. ``stop - 1``, 16 registrations in flight, one-hour leases."""
    headers = {"Authorization": f"Bearer {admin}"}
    pending = iter(range(start, stop))
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as c:

        async def worker() -> None:
            for i in pending:
                body = {"descriptor": descriptor(i), "ttl_seconds": 3600}
                r = await c.post("/v1/agents", json=body)
                if r.status_code != 200:
                    raise RuntimeError(f"register inst{i}: {r.status_code} {r.text[:200]}")

        await asyncio.gather(*(worker() for _ in range(16)))


def heartbeat_script(folder: Path, instances: int, tokens: list[str]) -> Path:
    paths = ",".join(f'"/v1/agents/inst{i:05d}/heartbeat"' for i in range(instances))
    auth = ",".join(f'"Bearer {t}"' for t in tokens)
    script = folder / f"heartbeat-{instances}.lua"
    script.write_text(
        f"local paths = {{{paths}}}\nlocal tokens = {{{auth}}}\n"
        f"local body = '{LOAD_BODY}'\nlocal n = 0\n"
        "request = function()\n  local k = n % #paths\n  n = n + 1\n"
        '  local h = {["Authorization"] = tokens[(k % ' + str(AGENTS) + ") + 1],"
        ' ["Content-Type"] = "application/json"}\n'
        '  return wrk.format("PUT", paths[k + 1], h, body)\nend\n' + _DONE_LUA
    )
    return script


def list_script(folder: Path, token: str) -> Path:
    script = folder / "list.lua"
    script.write_text(f'wrk.headers["Authorization"] = "Bearer {token}"\n' + _DONE_LUA)
    return script


def wrk(url: str, script: Path, *, connections: int, seconds: float, pid: int) -> dict[str, Any]:
    """One wrk run against ``url``; its summary with discovery's and wrk's CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server0 = cpu_seconds(pid)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
         "-s", str(script), url],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    )  # fmt: skip
    server = cpu_seconds(pid) - server0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(ln for ln in reversed(out.stdout.splitlines()) if ln.startswith("{"))
    summary: dict[str, Any] = json.loads(line)
    wall = summary["duration_us"] / 1e6
    summary.update(
        connections=connections,
        per_s=summary["requests"] / wall,
        server_cpu_s=server,
        server_cpu_share=server / wall,
        wrk_cpu_share=(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / wall,
        per_server_cpu_s=summary["requests"] / server if server > 0 else None,
    )
    return summary


def tokens_from(tree: Path, secret: str, scopes: list[str]) -> list[str]:
    """Tokens for ``scopes`` minted by ``tree``'s own ``mesh_auth`` (a token's claims are
    that revision's: one with an audience is refused by a revision before audiences)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(tree / s) for s in SOURCES)}
    code = (
        "import sys; from mesh_auth import Keys; k = Keys(sys.argv[1].encode());"
        " print('\\n'.join(k.issue(s, 3600) for s in sys.argv[2:]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, secret, *scopes],
        env=env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return out.stdout.split()


def measure(
    tree: Path, args: argparse.Namespace, secret: str, folder: Path, log: Console
) -> dict[str, Any]:
    scopes = ["admin", "orchestrator", *(f"agent:agent{a:02d}" for a in range(AGENTS))]
    admin, reader, *agents = tokens_from(tree, secret, scopes)
    out: dict[str, Any] = {"imports": imported_from(tree)}
    with Discovery(tree, secret, folder) as d:
        t0 = time.perf_counter()
        asyncio.run(register(d.url, admin, 0, args.instances))
        out["register_s"] = time.perf_counter() - t0
        out["instances"] = args.instances
        log.print(f"[dim]  {args.instances} registered; heartbeats …[/]")
        hb = heartbeat_script(folder, args.instances, agents)
        out["heartbeats"] = wrk(d.url, hb, connections=32, seconds=args.seconds, pid=d.pid)
        lst = list_script(folder, reader)
        url = d.url + "/v1/agents?capability=cap000"
        log.print("[dim]  filtered list …[/]")
        out["list"] = {
            str(args.instances): {
                "alone": wrk(url, lst, connections=1, seconds=args.seconds / 2, pid=d.pid),
                "c8": wrk(url, lst, connections=8, seconds=args.seconds / 2, pid=d.pid),
            }
        }
        t0 = time.perf_counter()
        asyncio.run(register(d.url, admin, args.instances, args.more))
        out["register_more_s"] = time.perf_counter() - t0
        log.print(f"[dim]  {args.more} registered; filtered list …[/]")
        out["list"][str(args.more)] = {
            "alone": wrk(url, lst, connections=1, seconds=args.seconds / 2, pid=d.pid),
            "c8": wrk(url, lst, connections=8, seconds=args.seconds / 2, pid=d.pid),
        }
        with httpx.Client(headers={"Authorization": f"Bearer {reader}"}) as c:
            body = c.get(url).json()
        out["list_records"] = len(body)
    return out


def table(results: dict[str, Any]) -> Table:
    runs = [(name, results[name]) for name in ("before", "after") if name in results]
    t = Table(title=f"one discovery process ({results['instances']:,} instances, then "
              f"{results['more']:,}; wrk, one thread)", box=box.ASCII2, title_justify="left")  # fmt: skip
    t.add_column("measurement")
    for name, r in runs:
        t.add_column(f"{name} ({r['rev']})", justify="right")
    if len(runs) == 2:
        t.add_column("after/before", justify="right")

    def row(label: str, get: Any, fmt: str, ratio: bool = True) -> None:
        values = [get(r) for _, r in runs]
        cells = [fmt.format(v) if v is not None else "-" for v in values]
        if len(runs) == 2:
            ok = ratio and values[0] and values[1] is not None
            cells.append(f"{values[1] / values[0]:.2f}x" if ok else "")
        t.add_row(label, *cells)

    n, m = str(results["instances"]), str(results["more"])
    hb = "heartbeats"
    row("heartbeats/s (32 connections)", lambda r: r[hb]["per_s"], "{:,.0f}")
    row("  latency p50 / p99 (ms)",
        lambda r: f"{r[hb]['p50_us'] / 1000:.2f} / {r[hb]['p99_us'] / 1000:.2f}", "{}", False)  # fmt: skip
    row("  discovery CPU share / wrk CPU share",
        lambda r: f"{r[hb]['server_cpu_share']:.2f} / {r[hb]['wrk_cpu_share']:.2f}", "{}", False)  # fmt: skip
    row("  heartbeats per discovery CPU-second", lambda r: r[hb]["per_server_cpu_s"], "{:,.0f}")
    row("  non-2xx answers", lambda r: r[hb]["non_2xx"] + r[hb]["socket_errors"], "{}", False)
    for size in (n, m):
        row(f"list of 150 among {int(size):,}: p50 (ms, 1 connection)",
            lambda r, s=size: r["list"][s]["alone"]["p50_us"] / 1000, "{:.2f}")  # fmt: skip
        row("  p99 (ms, 1 connection)",
            lambda r, s=size: r["list"][s]["alone"]["p99_us"] / 1000, "{:.2f}")  # fmt: skip
        row("  lists/s (8 connections)", lambda r, s=size: r["list"][s]["c8"]["per_s"], "{:,.0f}")
    row(f"seconds to register {int(n):,} (16 in flight)", lambda r: r["register_s"], "{:.1f}")
    return t


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log = Console(stderr=True)
    if shutil.which("wrk") is None:
        log.print("bench.registry: no wrk on PATH (Debian: apt-get install wrk)", markup=False)
        return 1
    before = default_before() if args.before == "auto" else args.before
    if before == "none":
        before = None
    secret = secrets.token_urlsafe(48)
    results: dict[str, Any] = {"instances": args.instances, "more": args.more,
                               "seconds": args.seconds, "started": time.strftime("%Y-%m-%d %H:%M:%S %z")}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="mesh-bench-registry-") as tmp:
        folder = Path(tmp)
        if before is not None:
            rev = _git("rev-parse", "--short", before)
            log.print(f"[dim]before: {rev} (git archive of it) …[/]")
            with checkout(before) as tree:
                results["before"] = {"rev": rev, **measure(tree, args, secret, folder, log)}
        rev = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
        log.print(f"[dim]after: {rev}{' + changes' if dirty else ''} (this tree) …[/]")
        results["after"] = {"rev": rev + ("+" if dirty else ""),
                            **measure(ROOT, args, secret, folder, log)}  # fmt: skip
    Console(width=140).print(table(results))
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    log.print(f"[dim]wrote {args.out}[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
