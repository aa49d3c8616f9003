"""``python -m mesh_worker_analyst``: serve the analyst (WORKER_PORT, default 8002)."""

from __future__ import annotations

from mesh_worker import serve
from mesh_worker_analyst.worker import DEFAULT_PORT, AnalystWorker


def main() -> None:
    serve(AnalystWorker(), default_port=DEFAULT_PORT)


if __name__ == "__main__":
    main()
