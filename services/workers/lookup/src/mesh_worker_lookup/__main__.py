"""``python -m mesh_worker_lookup``: serve the lookup worker (WORKER_PORT, default 8003)."""

from __future__ import annotations

from mesh_worker import serve
from mesh_worker_lookup.settings import LookupSettings
from mesh_worker_lookup.worker import DEFAULT_PORT, LookupWorker


def main() -> None:
    serve(LookupWorker(LookupSettings()), default_port=DEFAULT_PORT)


if __name__ == "__main__":
    main()
