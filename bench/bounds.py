"""``python -m bench.bounds``: the requests that froze a service, measured on real processes.

Each payload is sent while another client reads a stream from the same service and a third
asks ``GET /health`` every 50 ms; the figures are the time until the payload's answer, the
longest gap between two of the stream's events around it (the freeze as a streaming client
sees it; a free service shows the stream's own pace: a token every 20 ms for the
orchestrator, the model's speed on a busy CPU for the writer) and the slowest ``/health``
answer meanwhile (the event loop's own lag). The first row, ``(none)``, is the same
measured over two seconds with no payload: the baseline.

* orchestrator (discovery, one ``bench.fault_worker`` streaming 50 tokens a second, one
  orchestrator): a plan whose task names another task 8,000 times in ``depends_on``; a 1 MB
  plan body (about 210,000 such entries); a task ``input`` nested 300 levels; plus
  ``ExecutionPlan`` validation alone, in-process, for the first two bodies.
* writer (the real model): ``^[ab]*a[ab]{n}$`` as a ``response_format`` pattern (compiled on
  the event loop before) and as a property of a task's ``json_schema`` (compiled in the
  generation thread, holding the model lock, before).

Run it on a checkout to compare: ``git stash`` (or check out the commit before) and run it
again; a request is given up after ``GIVE_UP`` seconds (its service is stopped with the
run). Prints a table; ``--json`` prints the rows as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from mesh_testkit import ServiceProcess, free_port, read_sse, wait_until

ROOT = Path(__file__).resolve().parent.parent
GIVE_UP = 60.0


def _task(task_id: str, *deps: str, **inp: Any) -> dict[str, Any]:
    return {"task_id": task_id, "capability": "text_generation", "agent_id": "bench",
            "input": inp, "depends_on": list(deps)}  # fmt: skip


def deps_body(n: int) -> bytes:
    return json.dumps({"plan": {"tasks": [_task("a"), _task("b", *["a"] * n)]}}).encode()


def one_megabyte() -> bytes:
    n = (1 << 20) // 5
    while len(body := deps_body(n)) >= 1 << 20:
        n -= 1000
    return body


def nested(depth: int) -> bytes:
    task = json.dumps(_task("a", x=0))
    return ('{"plan":{"tasks":[' + task.replace('"x": 0', '"x": ' + "[" * depth + "]" * depth)
            + "]}}").encode()  # fmt: skip


def _gap(arrivals: list[float], began: float, ended: float) -> float:
    """The longest time without a stream event around [began, ended]."""
    before = [t for t in arrivals if t < began][-1:]
    inside = [t for t in arrivals if began <= t <= ended]
    after = [t for t in arrivals if t > ended][:1]
    points = before + inside + after
    if len(points) < 2:
        return ended - began
    return max(b - a for a, b in itertools.pairwise(points))


async def _attack(
    url: str,
    stream: tuple[str, str, dict[str, Any]],
    payloads: list[tuple[str, str, bytes]],
) -> list[dict[str, Any]]:
    """Follow ``stream`` (method, path, body) and send each payload (name, path, body)."""
    arrivals: list[float] = []
    health: list[tuple[float, float]] = []  # (sent, answered)
    rows: list[dict[str, Any]] = []
    method, path, sent = stream

    async def follow(c: httpx.AsyncClient) -> None:
        async for _ in read_sse(c, method, url + path, json=sent):
            arrivals.append(time.monotonic())

    asked: list[float] = []  # when the probe's current request went out

    async def probe(c: httpx.AsyncClient) -> None:
        while True:
            asked[:] = [time.monotonic()]
            await c.get(url + "/health")
            health.append((asked.pop(), time.monotonic()))
            await asyncio.sleep(0.05)

    def lag(began: float, ended: float) -> float:
        """The slowest /health answer overlapping [began, ended], one still awaited too."""
        waiting = [ended - a for a in asked if a <= ended]
        done = [b - a for a, b in health if a <= ended and b >= began]
        return max(done + waiting, default=0.0)

    async with httpx.AsyncClient(timeout=GIVE_UP) as c, httpx.AsyncClient(timeout=GIVE_UP) as h:
        reader, prober = asyncio.create_task(follow(c)), asyncio.create_task(probe(h))
        async with asyncio.timeout(120):
            while len(arrivals) < 10:  # noqa: ASYNC110 - the reader's list
                await asyncio.sleep(0.01)
        began = time.monotonic()
        await asyncio.sleep(2.0)  # the baseline: the stream and the probe alone
        ended = time.monotonic()
        rows.append({"payload": "(none)", "bytes": 0, "status": "-", "answer_s": "-",
                     "stream_gap_s": round(_gap(arrivals, began, ended), 3),
                     "health_s": round(lag(began, ended), 3)})  # fmt: skip
        for name, target, body in payloads:
            began = time.monotonic()
            try:
                r = await c.post(url + target, content=body,
                                 headers={"content-type": "application/json"})  # fmt: skip
                status = str(r.status_code)
            except httpx.TimeoutException:
                status = f"no answer in {GIVE_UP:.0f} s"
            ended = time.monotonic()
            await asyncio.sleep(0.5)  # the stream's next events, to close the last gap
            rows.append({"payload": name, "bytes": len(body), "status": status,
                         "answer_s": round(ended - began, 3),
                         "stream_gap_s": round(_gap(arrivals, began, ended), 3),
                         "health_s": round(lag(began, ended), 3)})  # fmt: skip
            if not status.isdigit():
                break  # the service is still busy with it: nothing after it means anything
        reader.cancel()
        prober.cancel()
    return rows


def _start(procs: list[ServiceProcess], module: str, env: dict[str, str]) -> ServiceProcess:
    port = free_port()
    key = "ORCH_PORT" if module == "mesh_orchestrator" else "WORKER_PORT"
    if module == "mesh_discovery":
        key = "DISCOVERY_PORT"
    proc = ServiceProcess(module, port, {key: str(port), **env}, cwd=ROOT, startup_timeout=240)
    procs.append(proc.start())
    return proc


async def orchestrator(tmp: Path) -> list[dict[str, Any]]:
    procs: list[ServiceProcess] = []
    try:
        disc = _start(procs, "mesh_discovery", {"DISCOVERY_DB_PATH": str(tmp / "d.sqlite3")})
        _start(procs, "bench.fault_worker",
               {"WORKER_DISCOVERY_URL": disc.url, "FAULT_AGENT_ID": "bench"})  # fmt: skip
        orch = _start(procs, "mesh_orchestrator",
                      {"ORCH_DISCOVERY_URL": disc.url, "ORCH_DB_PATH": str(tmp / "o.sqlite3"),
                       "ORCH_PLANNER": "deterministic"})  # fmt: skip
        wait_until(lambda: httpx.get(orch.url + "/health").json()["agents"] == 1, timeout=30,
                   what="the orchestrator to see the worker")  # fmt: skip
        live = {"plan": {"tasks": [_task("s", tokens=3000, rate=50)]}}
        payloads = [
            ("8,000 depends_on entries", "/orchestrate", deps_body(8000)),
            ("1 MB plan body", "/orchestrate", one_megabyte()),
            ("input nested 300 levels", "/orchestrate", nested(300)),
        ]
        return await _attack(orch.url, ("POST", "/orchestrate/stream", live), payloads)
    finally:
        for p in reversed(procs):
            p.stop(grace=2)


def validation() -> list[dict[str, Any]]:
    """``ExecutionPlan`` validation alone, each in a fresh interpreter given ``GIVE_UP``."""
    rows = []
    for name, body in (("8,000 depends_on entries", deps_body(8000)),
                       ("1 MB plan body", one_megabyte())):  # fmt: skip
        code = (
            "import sys, time, json\n"
            "from mesh_contracts import ExecutionPlan\n"
            "body = json.loads(sys.stdin.buffer.read())['plan']\n"
            "t = time.perf_counter()\n"
            "try:\n    ExecutionPlan.model_validate(body); r = 'accepted'\n"
            "except ValueError: r = 'refused'\n"
            "print(r, time.perf_counter() - t)\n"
        )
        try:
            out = subprocess.run([sys.executable, "-c", code], input=body, capture_output=True,
                                 timeout=GIVE_UP, check=True).stdout.decode().split()  # fmt: skip
            rows.append({"payload": name, "bytes": len(body), "status": out[0],
                         "validate_s": round(float(out[1]), 4)})  # fmt: skip
        except subprocess.TimeoutExpired:
            rows.append({"payload": name, "bytes": len(body), "status": "still validating",
                         "validate_s": f"> {GIVE_UP:.0f}"})  # fmt: skip
    return rows


def _schema_chat(pattern: str, as_property: bool) -> bytes:
    schema: dict[str, Any] = {"type": "string", "pattern": pattern}
    if as_property:
        schema = {"type": "object", "properties": {"code": schema}, "required": ["code"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    return json.dumps({"model": "smollm2-135m-instruct", "max_tokens": 8, "response_format": fmt,
                       "messages": [{"role": "user", "content": "a code"}]}).encode()  # fmt: skip


def _schema_task(pattern: str) -> bytes:
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": pattern}},
              "required": ["code"]}  # fmt: skip
    return json.dumps({"input": {"prompt": "a code", "max_tokens": 8,
                                 "json_schema": schema}}).encode()  # fmt: skip


async def writer(tmp: Path) -> list[dict[str, Any]]:
    procs: list[ServiceProcess] = []
    try:
        w = _start(procs, "mesh_worker_writer",
                   {"WORKER_DISCOVERY_URL": "", "WRITER_ADAPTERS_DIR": str(tmp)})  # fmt: skip
        live = {
            "model": "smollm2-135m-instruct",
            "max_tokens": 1000,
            "temperature": 0,
            "stream": True,
            "messages": [{"role": "user", "content": "Tell a long story about the sea."}],
        }
        payloads = [
            (f"pattern [ab]*a[ab]{{{n}}} (response_format)", "/v1/chat/completions",
             _schema_chat(f"^[ab]*a[ab]{{{n}}}$", as_property=False))
            for n in (12, 14)
        ] + [
            ("pattern [ab]*a[ab]{14} as a property (task json_schema)", "/invoke",
             _schema_task("^[ab]*a[ab]{14}$")),
        ]  # fmt: skip
        return await _attack(w.url, ("POST", "/v1/chat/completions", live), payloads)
    finally:
        for p in reversed(procs):
            p.stop(grace=2)


def _table(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    if not rows:
        return
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(str(r.get(k, "")) for k in keys) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--no-writer", action="store_true", help="skip the writer (its model)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        results = {"validation": validation(), "orchestrator": asyncio.run(orchestrator(tmp))}
        if not args.no_writer:
            results["writer"] = asyncio.run(writer(tmp))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for title, rows in results.items():
        _table(title, rows)


if __name__ == "__main__":
    main()
