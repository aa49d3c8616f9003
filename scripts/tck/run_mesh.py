"""Start a mesh for the TCK (run with the mesh repo's venv python, PYTHONPATH=<repo root>
for ``bench``): discovery, the lookup worker, the scripted worker and one orchestrator (auth off, deterministic planner) on free loopback ports.
Prints the orchestrator's URL, then keeps it up until SIGTERM/SIGINT or --seconds pass."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
from pathlib import Path

from mesh_testkit.mesh import process_mesh

parser = argparse.ArgumentParser()
parser.add_argument("--seconds", type=float, default=1800)
parser.add_argument("--url-file", default=None)
args = parser.parse_args()
stop = threading.Event()
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda *_: stop.set())
with (
    tempfile.TemporaryDirectory(prefix="tck-mesh-") as tmp,
    process_mesh(
        Path(tmp),
        {"lookup": "mesh_worker_lookup", "script": "bench.script_worker"},  # bench: PYTHONPATH
        orchestrator_env={"ORCH_PLANNER": "deterministic", "ORCH_LOG_LEVEL": "warning"},
        worker_env={"WORKER_LOG_LEVEL": "warning"},
    ) as mesh,
):
    print(mesh.url, flush=True)
    if args.url_file:
        Path(args.url_file).write_text(mesh.url)
    stop.wait(args.seconds)
sys.exit(0)
