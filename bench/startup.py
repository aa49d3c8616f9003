"""``python -m bench.startup``: an orchestrator's start, this tree beside a previous commit's.

Each side is a source tree first on ``PYTHONPATH``: **before** (``--before``: the commit's
sources from ``git archive``, as ``bench.runs_ab`` does) and **after** (this working tree).
Fresh processes, the sides alternated (before, after, after, before, ...) so the machine's
load hits both alike, ``--runs`` of each:

* **import**: CPU seconds and wall seconds of ``import mesh_orchestrator.app`` in a fresh
  interpreter (measured inside it, around the import alone);
* **RSS, planner ready**: that same process's resident set once it has also readied the
  no-LLM planner the way the app does (``bench.planning.rss``'s probe: issue 22's figure);
* **first /health**: ``python -m mesh_orchestrator`` launched (its discovery, this tree's,
  already up) until ``GET /health`` first answers 200 (polled every 5 ms), with the
  process's CPU seconds and RSS at that moment; then until ``planner_ready``.

Medians over the runs, and after/before ratios. Results in ``bench/startup_results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.procs import QUIET, ROOT, SOURCES, cpu_seconds, extract, rss_bytes
from mesh_testkit import ServiceProcess, free_port

RESULTS = Path(__file__).resolve().parent / "startup_results.json"
# The commit before the lazy imports (round 9): the a2a-sdk, langchain-core/langsmith and
# LangGraph's graph imported by every orchestrator start.
BEFORE = "b04eb5aa6a548e82a031f1d4d5bc967dd0302805"
PROBE = """
import time
c0, w0 = time.process_time(), time.perf_counter()
import mesh_orchestrator.app
c1, w1 = time.process_time(), time.perf_counter()
from mesh_orchestrator.planning.intent import IntentPlanner
IntentPlanner().warm()
rss = 0
for line in open('/proc/self/status'):
    if line.startswith('VmRSS:'):
        rss = int(line.split()[1]) * 1024
import json, mesh_orchestrator
print(json.dumps({"cpu": c1 - c0, "wall": w1 - w0, "rss": rss,
                  "from": mesh_orchestrator.__file__}))
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    p.add_argument("--before", default=BEFORE, help="the commit to compare with")
    p.add_argument("--runs", type=int, default=5, help="fresh processes per side and measure")
    return p.parse_args(argv)


def side_env(tree: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if tree is None:
        env.pop("PYTHONPATH", None)
    else:
        env["PYTHONPATH"] = os.pathsep.join(str(tree / s) for s in SOURCES)
    return env


def probe(tree: Path | None) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=side_env(tree), cwd=ROOT, capture_output=True,
        text=True, check=True, timeout=300,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def first_health(tree: Path | None, discovery: str, tmp: Path, tag: str) -> dict[str, float]:
    """One orchestrator process from launch to its first ``/health`` 200, then to
    ``planner_ready``; stopped after."""
    port = free_port()
    env = {
        **side_env(tree), "ORCH_PORT": str(port), "ORCH_DISCOVERY_URL": discovery,
        "ORCH_DB_PATH": str(tmp / f"orchestrator-{tag}.sqlite3"), "ORCH_LOG_LEVEL": QUIET,
    }  # fmt: skip
    svc = ServiceProcess("mesh_orchestrator", port, env, cwd=ROOT)
    t0 = time.perf_counter()
    svc.launch()
    assert svc.proc is not None
    result: dict[str, float] = {}
    try:
        with httpx.Client(timeout=2.0) as client:
            while time.perf_counter() - t0 < 120:
                if svc.proc.poll() is not None:
                    raise RuntimeError(f"the orchestrator exited:\n{svc.log()}")
                try:
                    r = client.get(svc.url + "/health")
                except httpx.HTTPError:
                    time.sleep(0.005)
                    continue
                if r.status_code == 200 and "health" not in result:
                    result["health"] = time.perf_counter() - t0
                    result["health_cpu"] = cpu_seconds(svc.proc.pid)
                    result["health_rss"] = rss_bytes(svc.proc.pid)
                if r.status_code == 200 and r.json().get("planner_ready", True):
                    result["planner_ready"] = time.perf_counter() - t0
                    return result
                time.sleep(0.005)
        raise TimeoutError(f"the orchestrator was not ready in 120 s:\n{svc.log()}")
    finally:
        svc.stop(grace=10)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mesh-startup-") as d:
        tmp = Path(d)
        sha = extract(args.before, tmp / "before")
        trees: dict[str, Path | None] = {"before": tmp / "before", "after": None}
        for name, tree in trees.items():
            print(f"{name:6}: {probe(tree)['from']}")
        dport = free_port()
        discovery = ServiceProcess("mesh_discovery", dport, {
            "DISCOVERY_PORT": str(dport), "DISCOVERY_DB_PATH": str(tmp / "d.sqlite3"),
            "DISCOVERY_LOG_LEVEL": QUIET}, cwd=ROOT).start()  # fmt: skip
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        try:
            for i in range(args.runs):
                order = list(trees) if i % 2 == 0 else list(reversed(trees))
                for name in order:
                    imported = probe(trees[name])
                    row = {k: float(imported[k]) for k in ("cpu", "wall", "rss")}
                    row.update(first_health(trees[name], discovery.url, tmp, f"{name}-{i}"))
                    samples[name].append(row)
                    shown = " ".join(f"{k}={v:.3g}" for k, v in row.items())
                    print(f"  run {i + 1} {name:6} {shown}")
        finally:
            discovery.stop(grace=5)
    report(samples, sha, args.runs)
    return 0


MEASURES = (
    ("cpu", "import mesh_orchestrator.app, CPU s", 1.0),
    ("wall", "import mesh_orchestrator.app, wall s", 1.0),
    ("rss", "RSS at start, planner ready, MB", 1 / 2**20),
    ("health", "launch to first /health 200, s", 1.0),
    ("health_cpu", "CPU s of the process at first /health", 1.0),
    ("health_rss", "RSS at first /health, MB", 1 / 2**20),
    ("planner_ready", "launch to planner_ready, s", 1.0),
)


def report(samples: dict[str, list[dict[str, float]]], sha: str, runs: int) -> None:
    table: dict[str, dict[str, float]] = {}
    print(f"\nmedians of {runs} fresh processes each; before = {sha[:10]}, after = this tree")
    print(f"{'':42} {'before':>9} {'after':>9} {'after/before':>13}")
    for key, label, scale in MEASURES:
        before = statistics.median(r[key] for r in samples["before"]) * scale
        after = statistics.median(r[key] for r in samples["after"]) * scale
        table[key] = {"before": before, "after": after, "ratio": after / before}
        print(f"{label:42} {before:9.3f} {after:9.3f} {after / before:13.2f}")
    RESULTS.write_text(
        json.dumps({"before": sha, "runs": runs, "medians": table, "samples": samples}, indent=1)
        + "\n"
    )
    print(f"\n{RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    raise SystemExit(main())
