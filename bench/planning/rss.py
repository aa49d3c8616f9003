"""``python -m bench.planning.rss``: the orchestrator's memory at start with its planner ready.

Two fresh processes, measured side by side: each imports the orchestrator's app module (all
it imports at start: FastAPI, LangGraph, langchain, the run stores) and readies the no-LLM
planner the way the app does, then reports its resident set (``VmRSS``). ``intent``: the
intent planner (numpy weights); ``semantic``: the MiniLM planner it replaced, loaded as the
orchestrator did before (torch, transformers, all-MiniLM-L6-v2), from ``bench/planning/baseline``.
"""

from __future__ import annotations

import subprocess
import sys

READY = {
    "intent": "from mesh_orchestrator.planning.intent import IntentPlanner; IntentPlanner().warm()",
    "semantic": (
        "from bench.planning.baseline.semantic import SemanticPlanner; SemanticPlanner().warm()"
    ),
}
PROBE = """
import mesh_orchestrator.app
{ready}
for line in open('/proc/self/status'):
    if line.startswith('VmRSS:'):
        print(int(line.split()[1]) // 1024)
"""


def rss_mb(planner: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(ready=READY[planner])],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


def main() -> int:
    for name in READY:
        print(f"{name:10} orchestrator RSS at start, planner ready: {rss_mb(name)} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
