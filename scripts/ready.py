"""Run by `make run` beside the services: waits until every service answers /health, then
prints where to send requests. Stays alive (the launcher, scripts/launcher.py, stops the
whole mesh when any process exits)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx

from mesh_cli.scaffold import read_workers
from mesh_discovery.settings import Settings as DiscoverySettings
from mesh_orchestrator.settings import Settings as OrchestratorSettings

ROOT = Path(__file__).resolve().parents[1]


def services(root: Path = ROOT) -> dict[str, int]:
    """Every service of ``make run`` and its port: the two services' from their settings
    (``DISCOVERY_PORT``, ``ORCH_PORT``), the workers' from services/workers/workers.txt."""
    found = {"discovery": DiscoverySettings().port, "orchestrator": OrchestratorSettings().port}
    found.update({w.name: w.port for w in read_workers(root)})
    return found


def main() -> None:
    listed = services()
    pending = dict(listed)
    deadline = time.monotonic() + 300
    with httpx.Client(timeout=2.0) as client:
        while pending and time.monotonic() < deadline:
            for name, port in list(pending.items()):
                try:
                    if client.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                        print(f"  {name:<13} up   http://127.0.0.1:{port}", flush=True)
                        del pending[name]
                except httpx.HTTPError:
                    pass
            time.sleep(0.5)
    for name, port in pending.items():
        print(f"  {name:<13} NOT UP after 300 s (port {port}); see its log lines above", flush=True)
    orch = listed["orchestrator"]
    print(f"\n  dashboard     http://127.0.0.1:{orch}/ui/", flush=True)
    print(
        "\nThe mesh is up. Watch runs live in the dashboard above, or try:\n"
        "  curl -s localhost:9000/v1/agents | python -m json.tool\n"
        "  curl -N -X POST localhost:8000/orchestrate/stream -H 'content-type: application/json' \\\n"
        '       -d \'{"query": "Search for how discovery works and then summarize it"}\'\n'
        '  .venv/bin/mesh ask "Write a haiku about rivers"\n'
        "Ctrl-C stops everything.\n",
        flush=True,
    )
    signal.pause()


if __name__ == "__main__":
    main()
